// The protocol between the worker and its compile server (compile_server.h).
//
// One request at a time, over the server's stdin and stdout (one socket):
//   server -> worker, once at start:  Frame{kReady, codegen fingerprint}
//   worker -> server:                 Frame{kBitcode, bitcode}
//   server -> worker:                 Frame{kObject, ELF object} or Frame{kError, message}
// A frame is a one-byte kind, a little-endian 64-bit length and that many bytes. The server may
// also simply die (LLVM crashed on the input): the worker sees end of file and fails that compile
// alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rexec::compile_protocol {

enum class FrameKind : uint8_t { kReady = 1, kBitcode = 2, kObject = 3, kError = 4 };

struct Frame {
  FrameKind kind;
  std::string payload;
};

using Deadline = std::optional<std::chrono::steady_clock::time_point>;  // none: wait forever

// Writes a whole frame to a blocking or non-blocking descriptor.
absl::Status WriteFrame(int fd, FrameKind kind, std::string_view payload, Deadline deadline);

// Reads one frame whose payload is at most `max_payload` bytes. OutOfRange on end of file
// before a complete frame, DeadlineExceeded past the deadline, DataLoss for a malformed frame.
absl::StatusOr<Frame> ReadFrame(int fd, uint64_t max_payload, Deadline deadline);

}  // namespace rexec::compile_protocol
