// The compile server: the process where untrusted bitcode is read and turned into machine code.
//
// LLVM treats many conditions in its bitcode reader and code generator as fatal (it aborts the
// process) or simply crashes on malformed input. Bitcode comes from the network, so the worker
// never reads it itself: it hands it to this server, a separate executable started clean
// (compile_process.h), which answers with an object or LLVM's message. A fatal error ends the
// server after it reports the message; a crash ends it without one. Either way only that
// compile fails, and the worker starts a new server for the next.
#pragma once

#include <cstdint>

namespace rexec {

struct CompileServerOptions {
  // Off only to prove that a missing asm parser fails one compile, not the worker.
  bool register_asm_parser = true;
  uint64_t max_bitcode_bytes = 256ull << 20;
};

// Announces the codegen fingerprint, then answers compile requests (compile_protocol.h) read
// from `in_fd` until the worker closes it. Returns the process's exit code.
int ServeCompiles(int in_fd, int out_fd, const CompileServerOptions& options);

}  // namespace rexec
