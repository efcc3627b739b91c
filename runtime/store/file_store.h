// The worker's store of jobs' input files: content-addressed like modules, but on disk, because
// an input may be far larger than anything the worker should hold in memory.
//
// An upload streams into a temporary file in bounded chunks while it is hashed; only a file
// whose size and BLAKE3 hash match what the client announced is renamed into the store, read-only.
// What the store holds is indexed in memory (hash, size, last use) and bounded in bytes: the
// least recently used files go first. A job gets its inputs by hard link from the store into a
// staging directory beside it (the same filesystem), so evicting a file a job still uses costs
// that job nothing: the job's link keeps the contents.
//
// The store starts empty: what an earlier run left in its directory is removed (re-uploading is
// cheap, trusting files nobody verified is not). Without a directory of its own it uses a private
// temporary one, removed when the store goes. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rexec/content_hash.h"

namespace rexec {

struct FileStoreOptions {
  std::optional<std::filesystem::path> directory;  // none: a private temporary directory
  uint64_t max_bytes = 4ull << 30;                 // 0: unbounded
  uint64_t max_file_bytes = 1ull << 30;            // a larger upload is refused
  size_t max_uploads = 64;                         // uploads in progress at once
};

struct FileStoreStats {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t evictions = 0;
};

class FileStore {
 public:
  // Creates (or empties) the directory: FailedPrecondition saying which and why when it cannot.
  static absl::StatusOr<std::unique_ptr<FileStore>> Open(FileStoreOptions options);
  ~FileStore();
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  bool Contains(const ContentHash& hash);

  // One file on its way in; destroyed before Finish(), it leaves nothing behind.
  class Upload {
   public:
    ~Upload();
    // OutOfRange past the announced size; Unavailable when the disk refuses.
    absl::Status Write(std::string_view bytes);
    // Checks the size and the hash, then stores the file.
    absl::Status Finish();

   private:
    friend class FileStore;
    Upload(FileStore& store, const ContentHash& hash, uint64_t size, int fd,
           std::filesystem::path path);
    FileStore& store_;
    const ContentHash hash_;
    const uint64_t size_;
    uint64_t written_ = 0;
    int fd_;
    std::filesystem::path path_;
    ContentStreamHasher hasher_;
  };
  // InvalidArgument for a file larger than the store accepts; ResourceExhausted while
  // `max_uploads` others are in progress (each may hold up to `max_file_bytes` of disk).
  absl::StatusOr<std::unique_ptr<Upload>> StartUpload(const ContentHash& hash, uint64_t size);

  // Makes `name` in the directory `directory_fd` the stored file: a hard link to it (read-only,
  // owned by the worker's user), or a copy of its own (for a job that could write through a
  // link). NotFound when the store no longer holds it.
  enum class Placement { kHardLink, kCopy };
  absl::Status PlaceInto(const ContentHash& hash, int directory_fd, const char* name,
                         Placement placement);

  // Where jobs' staging directories go: beside the store, on its filesystem.
  const std::filesystem::path& staging_directory() const { return staging_; }

  FileStoreStats stats();

 private:
  struct Entry {
    uint64_t bytes;
    uint64_t last_use;
  };
  FileStore(FileStoreOptions options, std::filesystem::path root, bool temporary);
  std::filesystem::path PathFor(const ContentHash& hash) const;
  absl::Status Commit(const ContentHash& hash, uint64_t bytes, const std::filesystem::path& from);
  void EvictLocked(const ContentHash& keep);

  const FileStoreOptions options_;
  const std::filesystem::path root_;
  const std::filesystem::path blobs_;
  const std::filesystem::path uploads_;
  const std::filesystem::path staging_;
  const bool temporary_;
  std::mutex mutex_;
  absl::flat_hash_map<ContentHash, Entry> entries_;
  uint64_t use_clock_ = 0;
  uint64_t upload_counter_ = 0;
  size_t uploads_in_progress_ = 0;
  FileStoreStats stats_;
};

}  // namespace rexec
