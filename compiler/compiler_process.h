// The client's compiler behind a process boundary: rexec-compile (tools/rexec_compile.cpp).
//
// clang and LLVM are large libraries: mapping them costs a client ~25 ms at every start, although
// a warm run (the bitcode cache hits, bitcode_cache.h) uses neither. So the client links neither:
// on a cache miss it starts rexec-compile, a helper found like the worker's (core/helper_binary.h)
// and started clean (core/helper_process.h) but with the user's environment and working
// directory, since it compiles the user's files as clang would. One request per process. A clang
// crash ends the helper, not the client: the compile fails with how it ended.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compiler/compiler.h"

namespace rexec {

// CompileToBitcode (compiler.h), run in a compiler process: same results, same diagnostics.
// Unavailable when the helper cannot be found or started, Internal when it died.
absl::StatusOr<Module> CompileInCompilerProcess(const CompileOptions& options,
                                                std::string& diagnostics,
                                                std::vector<std::string>* inputs = nullptr);

// InspectBitcode (compiler.h), run in a compiler process.
absl::StatusOr<Module> InspectInCompilerProcess(std::string bitcode);

// rexec-compile's side: reads one request from `in_fd`, answers it on `out_fd` with
// CompileToBitcode or InspectBitcode. Returns the process's exit status.
int ServeCompilerRequest(int in_fd, int out_fd);

}  // namespace rexec
