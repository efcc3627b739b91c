// The secret that binds a disk cache's entries to their keys.
//
// A compiled object's key (bitcode hash + codegen fingerprint) cannot be derived from the object,
// so a checksum of the contents alone lets anyone who can write the cache directory put a
// self-consistent foreign object under another program's key, to be run in its place after a
// restart. Each entry therefore carries a MAC: keyed BLAKE3 over key || contents (the key has a
// fixed size, so the concatenation is unambiguous), keyed by 256 random bits kept in the file
// `secret` in the cache directory. Without the secret, no one can make an entry that verifies
// under any key, not even by copying a valid entry from another key.
//
// The worker creates the file at its first start (mode 0600, under a temporary name opened with
// O_EXCL, then hard-linked into place, so a worker starting concurrently on the same directory
// sees either no secret or the whole one) and reads it once into memory. A secret file of the
// wrong size, type, owner or permissions is an error, never silently replaced: replacing it
// would hide whatever happened to it. Removing it by hand is the way out; every entry then fails
// verification and is rebuilt.
//
// Why the file is safe to keep beside the entries: the processes that run user code are meant
// to see neither the cache directory (the job sandbox of issue 11 gives them a filesystem view
// without it) nor the worker's memory (jobs in processes that never held it). Until both land,
// a job running as the worker's user can read this file, or the secret in the memory it
// inherits from the worker, and forge entries: the MAC then only stops writers that cannot read
// the secret (another user with write access to the directory, a copy between caches, a stale
// or foreign file), not a job.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "rexec/content_hash.h"

namespace rexec {

class CacheSecret {
 public:
  static constexpr size_t kSize = 32;
  static constexpr size_t kMacSize = 32;
  static constexpr std::string_view kFileName = "secret";

  // Reads DIRECTORY/secret, creating it first if there is none. FailedPrecondition for a file
  // that is not a regular file of kSize bytes owned by this user with no access for others.
  static absl::StatusOr<CacheSecret> LoadOrCreate(const std::filesystem::path& directory);

  // kMacSize bytes that only a holder of the secret can compute for (key, contents).
  std::string Mac(const ContentHash& key, std::string_view contents) const;
  // Whether `mac` is Mac(key, contents), compared in constant time.
  bool Verify(const ContentHash& key, std::string_view contents, std::string_view mac) const;

 private:
  explicit CacheSecret(const std::array<uint8_t, kSize>& bytes) : bytes_(bytes) {}
  std::array<uint8_t, kSize> bytes_;
};

}  // namespace rexec
