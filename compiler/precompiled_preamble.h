// clang's side of the preamble cache (preamble_cache.h): finding a source's preamble, compiling
// with its PCH, and building PCHs for the compiles to come.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/preamble_cache.h"
#include "rexec/content_hash.h"

namespace clang {
class CompilerInvocation;
}

namespace rexec {

struct Preamble {
  ContentHash key;
  std::vector<std::string> arguments;  // the cc1 job's, to build the PCH with
  std::string text;                    // the source's first `text.size()` bytes
  bool ends_at_start_of_line = false;
  std::optional<std::string> pch;      // the cached PCH; nullopt: none usable yet
};

// The preamble of the source that `arguments` (a cc1 job) compiles, with its PCH if `cache` has
// one; nullopt when the source has no #include in its preamble or cannot be read.
std::optional<Preamble> FindPreamble(const std::vector<std::string>& arguments,
                                     const PreambleCache& cache);

// Makes `invocation` load `preamble.pch` in place of parsing the source's preamble.
void UsePrecompiledPreamble(clang::CompilerInvocation& invocation, const Preamble& preamble);

// Builds the PCHs of `preambles` into `cache` in a process of their own, detached and at the
// lowest priority, so this process answers its client at once. Call it while this process has
// one thread: it forks.
void BuildPreamblesInBackground(const std::vector<Preamble>& preambles, PreambleCache& cache);

}  // namespace rexec
