// Length-prefixed frames between the worker and the helper processes it starts (the compile
// server, module templates), over a socket or pipe.
//
// A frame is a one-byte kind, a little-endian 64-bit length and that many bytes. Each protocol
// names its own kinds. Every read is bounded by the caller's maximum and an optional deadline:
// the peer may be a process that untrusted input has taken over or crashed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rexec {

struct Frame {
  uint8_t kind;
  std::string payload;
};

using FrameDeadline = std::optional<std::chrono::steady_clock::time_point>;  // none: wait forever

// Waits until `fd` has something to read (or has reached its end). DeadlineExceeded past the
// deadline.
absl::Status AwaitReadable(int fd, FrameDeadline deadline);

// Writes a whole frame to a blocking or non-blocking descriptor.
absl::Status WriteFrame(int fd, uint8_t kind, std::string_view payload, FrameDeadline deadline);

// Reads one frame whose payload is at most `max_payload` bytes. OutOfRange on end of file
// before a complete frame, DeadlineExceeded past the deadline, DataLoss for one too large.
absl::StatusOr<Frame> ReadFrame(int fd, uint64_t max_payload, FrameDeadline deadline);

}  // namespace rexec
