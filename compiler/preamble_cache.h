// Precompiled preambles: a source's leading #includes, parsed once and reused while they last.
//
// What clangd does for an open file, kept on disk for rexec-send's edit-and-run loop: the
// preamble of a source (its leading run of directives and comments, clang's
// Lexer::ComputePreamble) is compiled to a PCH once, and later compiles of that source whose
// preamble is byte for byte the same skip it and load the PCH. Parsing <iostream> is ~200 ms of
// a ~230 ms compile of hello world; loading its PCH, a few. The bitcode cache (bitcode_cache.h)
// still decides whether to compile at all; this only makes a compile that must happen shorter.
//
// An entry is keyed by everything that shapes the PCH: clang's version, the source's absolute
// path, its compile arguments and the preamble's bytes. Beside the PCH it lists every file the
// preamble read with its size, modification time and inode: a change to any of them makes the
// entry unusable (and the next compile rebuilds it), as clang's own validation would, which the
// compile then turns off. A PCH is built only the second time a compile finds none for its key:
// a source compiled once (a script, a test, a benchmark's cold run) costs no PCH. It is built in
// the background, for the compiles after. Files are written under temporary names and renamed
// into place; the kMaxEntries most recently used are kept.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rexec/content_hash.h"

namespace rexec {

class PreambleCache {
 public:
  static constexpr size_t kMaxEntries = 32;

  explicit PreambleCache(std::filesystem::path directory);

  // The PCH kept under `key`, if every file it was built from is as it was.
  std::optional<std::string> Find(const ContentHash& key) const;
  // Whether a compile looked for `key` before (and found nothing); notes that this one did.
  bool SeenBefore(const ContentHash& key) const;
  // A fresh path for a PCH being built for `key`, in the cache's directory.
  std::string TemporaryPath(const ContentHash& key) const;
  // Keeps the PCH built at `temporary` under `key`, with the files it was built from.
  bool Commit(const ContentHash& key, const std::string& temporary,
              const std::vector<std::string>& inputs);

 private:
  void Evict() const;
  std::filesystem::path directory_;
};

}  // namespace rexec
