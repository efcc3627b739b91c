// The protocol between the worker and its compile server (compile_server.h).
//
// One request at a time, over the server's stdin and stdout (one socket), in frames of
// core/frame_io.h:
//   server -> worker, once at start:  kReady, its TargetDescription (target_description.h)
//   worker -> server:                 kBitcode, bitcode
//   server -> worker:                 kObject, ELF object  or  kError, message
// The server may also simply die (LLVM crashed on the input): the worker sees end of file and
// fails that compile alone.
#pragma once

#include <cstdint>

namespace rexec::compile_protocol {

enum FrameKind : uint8_t { kReady = 1, kBitcode = 2, kObject = 3, kError = 4 };

}  // namespace rexec::compile_protocol
