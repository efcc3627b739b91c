#include "runtime/blob_store.h"

#include <system_error>

#include "absl/strings/str_cat.h"
#include "compiler/atomic_file.h"

namespace rexec {
namespace {

// On-disk format: magic, BLAKE3 of the blob, the blob.
constexpr std::string_view kMagic = "rexec-blob-1\n";

std::string Frame(const std::string& blob) {
  std::string framed(kMagic);
  framed += ContentHash::Of(blob).bytes();
  framed += blob;
  return framed;
}

std::optional<std::string> Unframe(std::string file) {
  const size_t header = kMagic.size() + ContentHash::kSize;
  if (file.size() < header || std::string_view(file).substr(0, kMagic.size()) != kMagic) {
    return std::nullopt;
  }
  std::string_view checksum = std::string_view(file).substr(kMagic.size(), ContentHash::kSize);
  std::string blob = file.substr(header);
  if (ContentHash::Of(blob).bytes() != checksum) return std::nullopt;
  return blob;
}

}  // namespace

BlobStore::BlobStore(BlobStoreOptions options) : options_(std::move(options)) {
  if (options_.directory) {
    std::error_code error;
    std::filesystem::create_directories(*options_.directory, error);
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
  }
  if (!options_.directory) return absl::OkStatus();
  return WriteFileAtomically(PathFor(key), Frame(*blob));
}

std::shared_ptr<const std::string> BlobStore::Get(const ContentHash& key) {
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru_position);
      return it->second.blob;
    }
  }
  if (!options_.directory) return nullptr;
  const std::filesystem::path path = PathFor(key);
  std::optional<std::string> file =
      ReadWholeFile(path, options_.max_blob_bytes + kMagic.size() + ContentHash::kSize);
  if (!file) return nullptr;
  std::optional<std::string> blob = Unframe(std::move(*file));
  std::lock_guard lock(mutex_);
  if (!blob) {
    std::error_code error;
    std::filesystem::remove(path, error);
    ++stats_.corrupt_files_removed;
    return nullptr;
  }
  ++stats_.disk_loads;
  auto shared = std::make_shared<const std::string>(std::move(*blob));
  InsertLocked(key, shared);
  return shared;
}

bool BlobStore::Contains(const ContentHash& key) {
  {
    std::lock_guard lock(mutex_);
    if (entries_.contains(key)) return true;
  }
  if (!options_.directory) return false;
  std::error_code error;
  return std::filesystem::exists(PathFor(key), error);
}

BlobStoreStats BlobStore::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace rexec
