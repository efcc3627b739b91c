// A content-addressed store of immutable blobs, in memory and optionally on disk.
//
// Used twice by the worker: for uploaded bitcode (keyed by its own hash) and for compiled objects
// (keyed by bitcode hash + codegen fingerprint). Memory and disk are both bounded, least recently
// used first (disk recency survives restarts through file modification times). Disk files are
// written atomically and carry a BLAKE3 checksum of their contents, checked on every load: a
// truncated or corrupted file is deleted and reported as a miss, never returned. A blob handed
// out stays valid for its holder after eviction. Thread-safe.
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
#include "rexec/content_hash.h"

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
  explicit BlobStore(BlobStoreOptions options);

  // Stores `blob` under `key` (memory, and disk when configured). Disk errors are returned but
  // the blob stays usable from memory.
  absl::Status Put(const ContentHash& key, std::shared_ptr<const std::string> blob);
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
  std::filesystem::path PathFor(const ContentHash& key) const;
  void InsertLocked(const ContentHash& key, std::shared_ptr<const std::string> blob);
  void IndexDiskLocked();
  void RecordOnDiskLocked(const ContentHash& key, uint64_t bytes);
  void ForgetOnDiskLocked(const ContentHash& key);
  void EvictFromDiskLocked(const ContentHash& keep);

  const BlobStoreOptions options_;
  std::mutex mutex_;
  absl::flat_hash_map<ContentHash, Entry> entries_;
  std::list<ContentHash> lru_;  // front = most recently used
  absl::flat_hash_map<ContentHash, DiskEntry> disk_;
  uint64_t use_clock_ = 0;
  BlobStoreStats stats_;
};

}  // namespace rexec
