// The client's bitcode cache: a warm compile runs no part of clang.
//
// Like ccache's direct mode. The *manifest key* hashes what is known before compiling: rexec and
// clang versions, target triple, flags, and each source's path and contents. Its manifest lists,
// for each earlier compilation under that key, every file the compilation read (sources and all
// headers, system headers too) with its content hash, and the resulting module's hash. A lookup
// succeeds when every listed file still has the listed contents; files are re-hashed only when
// their size or modification time changed since they were recorded. Editing any included header
// therefore misses; touching one without changing it still hits, since the bitcode would be the
// same. Each entry also records which of the file names it read exist in the user's include
// directories and in the directories of the sources and user headers, so a header created where
// an #include would now find it also misses (system include directories are not watched, and an
// #include "sub/x.h" is watched by its last component only).
//
// Files are written atomically and verified when read (the module by its own hash); anything
// malformed counts as a miss and is overwritten by the next store.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "compiler/compiler.h"

namespace rexec {

class BitcodeCache {
 public:
  explicit BitcodeCache(std::filesystem::path directory);

  // The default location: $XDG_CACHE_HOME/rexec/bitcode or ~/.cache/rexec/bitcode.
  static std::filesystem::path DefaultDirectory();

  // On a hit, the diagnostics of the original compile are appended to `diagnostics`.
  std::optional<Module> Lookup(const CompileOptions& options, std::string& diagnostics);
  // `inputs`: every file the compilation read (CompileToBitcode's `inputs`).
  void Store(const CompileOptions& options, const Module& module, const std::string& diagnostics,
             const std::vector<std::string>& inputs);
  // Store, on a thread of its own: it reads and hashes every input again (~3-5 ms for a program
  // that includes <iostream>), which need not delay the module's run. Lookup waits for the
  // stores still running, and so does the process as it exits.
  void StoreInBackground(CompileOptions options, Module module, std::string diagnostics,
                         std::vector<std::string> inputs) const;

 private:
  std::optional<ContentHash> ManifestKey(const CompileOptions& options) const;
  std::filesystem::path directory_;
};

}  // namespace rexec
