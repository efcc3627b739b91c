#include "runtime/store/blob_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/atomic_file.h"

namespace rexec {
namespace {

// On-disk format: magic, the MAC of (key, blob), the blob. Version 1 carried a plain checksum
// of the blob; its files fail the magic check and are removed like corrupt ones.
constexpr std::string_view kMagic = "rexec-blob-2\n";
constexpr size_t kHeaderSize = kMagic.size() + CacheSecret::kMacSize;

std::string Frame(const CacheSecret& secret, const ContentHash& key, const std::string& blob) {
  std::string framed(kMagic);
  framed += secret.Mac(key, blob);
  framed += blob;
  return framed;
}

std::optional<std::string> Unframe(const CacheSecret& secret, const ContentHash& key,
                                   std::string file) {
  if (file.size() < kHeaderSize || std::string_view(file).substr(0, kMagic.size()) != kMagic) {
    return std::nullopt;
  }
  std::string_view framed(file);
  if (!secret.Verify(key, framed.substr(kHeaderSize),
                     framed.substr(kMagic.size(), CacheSecret::kMacSize))) {
    return std::nullopt;
  }
  file.erase(0, kHeaderSize);
  return file;
}

absl::Status CannotUse(const std::filesystem::path& directory, const std::string& why) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot use cache directory ", directory.string(), ": ", why));
}

// Finds out now whether entries can be written to `directory`: later, a failed write would only
// cost a rebuild after each restart, which nobody notices. Returns the directory's secret.
absl::StatusOr<CacheSecret> PrepareDirectory(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return CannotUse(directory, error.message());
  if (!std::filesystem::is_directory(directory, error)) {
    return CannotUse(directory, "not a directory");
  }
  // Named like a temporary file, so that a crash right here leaves nothing the index keeps.
  std::string probe = (directory / "write-check.tmp-XXXXXX").string();
  int fd = mkostemp(probe.data(), O_CLOEXEC);
  if (fd < 0) return CannotUse(directory, absl::StrCat("cannot write: ", std::strerror(errno)));
  close(fd);
  unlink(probe.c_str());
  return CacheSecret::LoadOrCreate(directory);
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(BlobStoreOptions options) {
  std::optional<CacheSecret> secret;
  if (options.directory) {
    absl::StatusOr<CacheSecret> prepared = PrepareDirectory(*options.directory);
    if (!prepared.ok()) return prepared.status();
    secret = *prepared;
  }
  std::unique_ptr<BlobStore> store(new BlobStore(std::move(options), std::move(secret)));
  if (store->options_.directory) {
    std::lock_guard lock(store->mutex_);
    store->IndexDiskLocked();
  }
  return store;
}

BlobStore::BlobStore(BlobStoreOptions options, std::optional<CacheSecret> secret)
    : options_(std::move(options)), secret_(std::move(secret)) {}

// Learns what an earlier run left on disk, oldest first by modification time, and removes
// temporary files a crash left behind.
void BlobStore::IndexDiskLocked() {
  struct Found {
    ContentHash key;
    uint64_t bytes;
    std::filesystem::file_time_type modified;
  };
  std::vector<Found> found;
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(*options_.directory, error)) {
    std::error_code file_error;
    std::string name = file.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) {
      std::filesystem::remove(file.path(), file_error);
      continue;
    }
    std::optional<ContentHash> key = ContentHash::FromHex(name);
    uint64_t bytes = file.file_size(file_error);
    auto modified = file.last_write_time(file_error);
    if (key && !file_error) found.push_back({*key, bytes, modified});
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.modified < b.modified; });
  for (const Found& entry : found) RecordOnDiskLocked(entry.key, entry.bytes);
}

void BlobStore::RecordOnDiskLocked(const ContentHash& key, uint64_t bytes) {
  ForgetOnDiskLocked(key);
  disk_[key] = DiskEntry{bytes, ++use_clock_};
  stats_.disk_bytes += bytes;
  stats_.disk_entries = disk_.size();
}

void BlobStore::ForgetOnDiskLocked(const ContentHash& key) {
  auto it = disk_.find(key);
  if (it == disk_.end()) return;
  stats_.disk_bytes -= it->second.bytes;
  disk_.erase(it);
  stats_.disk_entries = disk_.size();
}

void BlobStore::EvictFromDiskLocked(const ContentHash& keep) {
  if (options_.max_disk_bytes == 0) return;
  while (stats_.disk_bytes > options_.max_disk_bytes && disk_.size() > 1) {
    auto oldest = disk_.end();
    for (auto it = disk_.begin(); it != disk_.end(); ++it) {
      if (it->first == keep) continue;
      if (oldest == disk_.end() || it->second.last_use < oldest->second.last_use) oldest = it;
    }
    if (oldest == disk_.end()) return;
    std::error_code error;
    std::filesystem::remove(PathFor(oldest->first), error);
    ++stats_.disk_evictions;
    ForgetOnDiskLocked(ContentHash(oldest->first));
  }
}

std::filesystem::path BlobStore::PathFor(const ContentHash& key) const {
  return *options_.directory / key.hex();
}

void BlobStore::InsertLocked(const ContentHash& key, std::shared_ptr<const std::string> blob) {
  if (entries_.contains(key)) return;
  stats_.memory_bytes += blob->size();
  lru_.push_front(key);
  entries_[key] = Entry{std::move(blob), lru_.begin()};
  // Keep at least the newest entry, however large: it is about to be used.
  while (stats_.memory_bytes > options_.max_memory_bytes && lru_.size() > 1) {
    auto oldest = entries_.find(lru_.back());
    stats_.memory_bytes -= oldest->second.blob->size();
    entries_.erase(oldest);
    lru_.pop_back();
  }
  stats_.memory_entries = entries_.size();
}

absl::Status BlobStore::Put(const ContentHash& key, std::shared_ptr<const std::string> blob) {
  {
    std::lock_guard lock(mutex_);
    InsertLocked(key, blob);
    if (!options_.directory || disk_.contains(key)) return absl::OkStatus();
  }
  std::string framed = Frame(*secret_, key, *blob);
  absl::Status written = WriteFileAtomically(PathFor(key), framed);
  if (!written.ok()) return written;
  std::lock_guard lock(mutex_);
  RecordOnDiskLocked(key, framed.size());
  EvictFromDiskLocked(key);
  return absl::OkStatus();
}

absl::Status BlobStore::Replace(const ContentHash& key, std::shared_ptr<const std::string> blob) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      stats_.memory_bytes -= it->second.blob->size();
      lru_.erase(it->second.lru_position);
      entries_.erase(it);
      stats_.memory_entries = entries_.size();
    }
    ForgetOnDiskLocked(key);
  }
  return Put(key, std::move(blob));
}

std::shared_ptr<const std::string> BlobStore::Get(const ContentHash& key) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru_position);
      if (auto on_disk = disk_.find(key); on_disk != disk_.end()) {
        on_disk->second.last_use = ++use_clock_;
      }
      return it->second.blob;
    }
  }
  if (!options_.directory) return nullptr;
  const std::filesystem::path path = PathFor(key);
  std::optional<std::string> file =
      ReadWholeFile(path, options_.max_blob_bytes + kHeaderSize);
  if (!file) {
    std::lock_guard lock(mutex_);
    ForgetOnDiskLocked(key);  // removed behind our back: a miss from now on
    return nullptr;
  }
  std::optional<std::string> blob = Unframe(*secret_, key, std::move(*file));
  std::lock_guard lock(mutex_);
  if (!blob) {
    std::error_code error;
    std::filesystem::remove(path, error);
    ++stats_.corrupt_files_removed;
    ForgetOnDiskLocked(key);
    return nullptr;
  }
  ++stats_.disk_loads;
  if (auto on_disk = disk_.find(key); on_disk != disk_.end()) {
    on_disk->second.last_use = ++use_clock_;
  }
  // Recency must survive a restart, which orders files by modification time.
  std::error_code error;
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now(), error);
  auto shared = std::make_shared<const std::string>(std::move(*blob));
  InsertLocked(key, shared);
  return shared;
}

bool BlobStore::Contains(const ContentHash& key) {
  std::lock_guard lock(mutex_);
  return entries_.contains(key) || disk_.contains(key);
}

BlobStoreStats BlobStore::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace rexec
