// The client-side compiler: C and C++ sources to one LLVM bitcode module.
//
// clang 19 runs in-process as a library (no subprocess per file). Each source is compiled with
// the user's flags for the *worker's* target triple, the resulting modules are linked into one,
// and the module is serialized to bitcode and named by its content hash. Nothing here knows about
// the network or the JIT: the output is plain bytes the worker can verify and compile.
//
// Diagnostics are clang's own (file:line:col, carets, notes), written as clang would print them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rexec/module.h"

namespace rexec {

struct CompileOptions {
  // .c compiles as C, .bc is LLVM bitcode linked in as it is, anything else compiles as C++.
  std::vector<std::string> sources;
  std::vector<std::string> flags;    // clang-style; see compile_flags.h for what is accepted
  std::string target_triple;         // empty: this machine's
  bool color_diagnostics = false;
  // Where precompiled preambles are kept (preamble_cache.h); empty: none are used or built.
  std::string preamble_cache_dir;
};

// Compiles and links `options.sources`. Diagnostics (warnings too) are appended to
// `diagnostics`. A compile error returns InvalidArgument("compilation failed") and the reason is
// in `diagnostics`; a bad flag or a missing file returns InvalidArgument with the reason. When
// `inputs` is given, every file read (sources and headers) is appended to it.
absl::StatusOr<Module> CompileToBitcode(const CompileOptions& options, std::string& diagnostics,
                                        std::vector<std::string>* inputs = nullptr);

// Reads the entry points (main, commands) of an existing bitcode module, e.g. one built at build
// time by rexec_add_commands() or loaded from a cache.
absl::StatusOr<Module> InspectBitcode(std::string bitcode);

// The triple of the machine this runs on (what a local worker compiles for).
std::string HostTargetTriple();

}  // namespace rexec
