// A content-addressed store of immutable blobs, in memory and optionally on disk.
//
// Used twice by the worker: for uploaded bitcode (keyed by its own hash) and for compiled objects
// (keyed by bitcode hash + codegen fingerprint). Memory and disk are both bounded, least recently
// used first (disk recency survives restarts through file modification times). Disk files are
// written atomically and carry a MAC binding their contents to their key (cache_secret.h), checked
// on every load: a truncated, corrupted or foreign file (another key's entry copied over this
// one, a file from another cache, a file in an older format) is deleted and reported as a miss,
// never returned. One check serves both stores, although a module's key is its own content
// hash. A blob handed out stays valid for its holder after eviction. Thread-safe.
//
// A disk directory that cannot be created or written, or whose secret is not in order, is an
// error when the store is opened, never a silent retreat to memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rexec/content_hash.h"
#include "runtime/store/cache_secret.h"

namespace rexec {

struct BlobStoreOptions {
  std::optional<std::filesystem::path> directory;  // none: memory only
  uint64_t max_memory_bytes = 256 << 20;
  uint64_t max_disk_bytes = 0;          // 0: unbounded
  uint64_t max_blob_bytes = 256 << 20;  // larger files on disk are treated as corrupt
};

struct BlobStoreStats {
  uint64_t memory_entries = 0;
  uint64_t memory_bytes = 0;
  uint64_t disk_entries = 0;
  uint64_t disk_bytes = 0;
  uint64_t disk_loads = 0;
  uint64_t disk_evictions = 0;
  uint64_t corrupt_files_removed = 0;
};

class BlobStore {
 public:
  // Creates the directory if needed, checks that it can be written and reads (or creates) its
  // secret, then learns what an earlier run left there. FailedPrecondition or Unavailable, saying
  // which directory and why, when the directory cannot be used.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(BlobStoreOptions options);

  // Stores `blob` under `key` (memory, and disk when configured). Disk errors are returned but
  // the blob stays usable from memory.
  absl::Status Put(const ContentHash& key, std::shared_ptr<const std::string> blob);
  // Put keeps what a key already holds, since a key normally names its content. For a key that
  // does not: stores `blob` in place of whatever `key` held.
  absl::Status Replace(const ContentHash& key, std::shared_ptr<const std::string> blob);
  // From memory, else from disk (verified); null when absent or corrupt.
  std::shared_ptr<const std::string> Get(const ContentHash& key);
  bool Contains(const ContentHash& key);

  BlobStoreStats stats();

 private:
  struct Entry {
    std::shared_ptr<const std::string> blob;
    std::list<ContentHash>::iterator lru_position;
  };
  struct DiskEntry {
    uint64_t bytes;
    uint64_t last_use;  // larger is more recent
  };
  BlobStore(BlobStoreOptions options, std::optional<CacheSecret> secret);
  std::filesystem::path PathFor(const ContentHash& key) const;
  void InsertLocked(const ContentHash& key, std::shared_ptr<const std::string> blob);
  void IndexDiskLocked();
  void RecordOnDiskLocked(const ContentHash& key, uint64_t bytes);
  void ForgetOnDiskLocked(const ContentHash& key);
  void EvictFromDiskLocked(const ContentHash& keep);

  const BlobStoreOptions options_;
  const std::optional<CacheSecret> secret_;  // present with a directory
  std::mutex mutex_;
  absl::flat_hash_map<ContentHash, Entry> entries_;
  std::list<ContentHash> lru_;  // front = most recently used
  absl::flat_hash_map<ContentHash, DiskEntry> disk_;
  uint64_t use_clock_ = 0;
  BlobStoreStats stats_;
};

}  // namespace rexec
