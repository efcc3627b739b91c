#include "runtime/store/file_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

absl::Status Errno(absl::string_view what, const std::filesystem::path& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path.string(), ": ", strerror(errno)));
}

// An empty directory, only the worker's: whatever was there before is removed.
absl::Status MakeEmptyDirectory(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (!error) std::filesystem::create_directories(path, error);
  if (!error) {
    std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, error);
  }
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot use ", path.string(), " for input files: ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileStore>> FileStore::Open(FileStoreOptions options) {
  std::filesystem::path root;
  const bool temporary = !options.directory.has_value();
  if (temporary) {
    std::error_code error;
    std::string pattern = (std::filesystem::temp_directory_path(error) / "rexec-files-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot make a directory for input files: ", strerror(errno)));
    }
    root = pattern;
  } else {
    root = *options.directory;
  }
  std::unique_ptr<FileStore> store(new FileStore(std::move(options), root, temporary));
  for (const std::filesystem::path* directory :
       {&store->blobs_, &store->uploads_, &store->staging_}) {
    if (absl::Status made = MakeEmptyDirectory(*directory); !made.ok()) return made;
  }
  return store;
}

FileStore::FileStore(FileStoreOptions options, std::filesystem::path root, bool temporary)
    : options_(std::move(options)),
      root_(std::move(root)),
      blobs_(root_ / "blobs"),
      uploads_(root_ / "uploads"),
      staging_(root_ / "jobs"),
      temporary_(temporary) {}

FileStore::~FileStore() {
  std::error_code error;
  if (temporary_) std::filesystem::remove_all(root_, error);
}

std::filesystem::path FileStore::PathFor(const ContentHash& hash) const {
  return blobs_ / hash.hex();
}

bool FileStore::Contains(const ContentHash& hash) {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(hash);
  if (found == entries_.end()) return false;
  found->second.last_use = ++use_clock_;
  return true;
}

absl::StatusOr<std::unique_ptr<FileStore::Upload>> FileStore::StartUpload(const ContentHash& hash,
                                                                          uint64_t size) {
  if (size > options_.max_file_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("an input file of ", size,
                                                   " bytes is larger than this worker accepts (",
                                                   options_.max_file_bytes, ")"));
  }
  uint64_t number;
  {
    std::lock_guard lock(mutex_);
    if (uploads_in_progress_ >= options_.max_uploads) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "this worker takes ", options_.max_uploads, " file uploads at once; try again later"));
    }
    ++uploads_in_progress_;
    number = ++upload_counter_;
  }
  std::filesystem::path path = uploads_ / absl::StrCat(hash.hex(), ".", number);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400);
  if (fd < 0) {
    absl::Status failed = Errno("cannot create", path);
    std::lock_guard lock(mutex_);
    --uploads_in_progress_;
    return failed;
  }
  return std::unique_ptr<Upload>(new Upload(*this, hash, size, fd, std::move(path)));
}

FileStore::Upload::Upload(FileStore& store, const ContentHash& hash, uint64_t size, int fd,
                          std::filesystem::path path)
    : store_(store), hash_(hash), size_(size), fd_(fd), path_(std::move(path)) {}

FileStore::Upload::~Upload() {
  if (fd_ >= 0) close(fd_);
  if (!path_.empty()) unlink(path_.c_str());
  std::lock_guard lock(store_.mutex_);
  --store_.uploads_in_progress_;
}

absl::Status FileStore::Upload::Write(std::string_view bytes) {
  if (fd_ < 0) return absl::FailedPreconditionError("the upload has ended");
  if (bytes.size() > size_ - written_) {
    return absl::OutOfRangeError(
        absl::StrCat("the file is larger than the ", size_, " bytes announced"));
  }
  hasher_.Update(bytes);
  while (!bytes.empty()) {
    ssize_t wrote = write(fd_, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return Errno("cannot write", path_);
    bytes.remove_prefix(wrote);
    written_ += wrote;
  }
  return absl::OkStatus();
}

absl::Status FileStore::Upload::Finish() {
  if (fd_ < 0) return absl::FailedPreconditionError("the upload has ended");
  close(fd_);
  fd_ = -1;
  if (written_ != size_) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file ended after ", written_, " of the ", size_, " bytes announced"));
  }
  ContentHash actual = hasher_.Finish();
  if (actual != hash_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the uploaded file does not match its hash (", hash_.hex(), " announced, ", actual.hex(),
        " received): did it change while it was sent?"));
  }
  absl::Status committed = store_.Commit(hash_, size_, path_);
  if (committed.ok()) path_.clear();
  return committed;
}

absl::Status FileStore::Commit(const ContentHash& hash, uint64_t bytes,
                               const std::filesystem::path& from) {
  std::filesystem::path to = PathFor(hash);
  // 0444: readable by the unprivileged id jobs have outside their namespace, writable by none.
  if (chmod(from.c_str(), 0444) != 0) return Errno("cannot seal", from);
  std::lock_guard lock(mutex_);
  if (rename(from.c_str(), to.c_str()) != 0) return Errno("cannot store", to);
  auto [entry, added] = entries_.try_emplace(hash, Entry{bytes, 0});
  entry->second.last_use = ++use_clock_;
  if (added) {
    ++stats_.files;
    stats_.bytes += bytes;
  }
  EvictLocked(hash);
  return absl::OkStatus();
}

// Least recently used first; a scan, since evictions are rare and the index small.
void FileStore::EvictLocked(const ContentHash& keep) {
  while (options_.max_bytes != 0 && stats_.bytes > options_.max_bytes && entries_.size() > 1) {
    auto oldest = entries_.end();
    for (auto entry = entries_.begin(); entry != entries_.end(); ++entry) {
      if (entry->first == keep) continue;
      if (oldest == entries_.end() || entry->second.last_use < oldest->second.last_use) {
        oldest = entry;
      }
    }
    if (oldest == entries_.end()) return;
    unlink(PathFor(oldest->first).c_str());
    stats_.bytes -= oldest->second.bytes;
    --stats_.files;
    ++stats_.evictions;
    entries_.erase(oldest);
  }
}

absl::Status FileStore::PlaceInto(const ContentHash& hash, int directory_fd, const char* name,
                                 Placement placement) {
  std::filesystem::path stored;
  {
    std::lock_guard lock(mutex_);
    auto found = entries_.find(hash);
    if (found != entries_.end()) {
      found->second.last_use = ++use_clock_;
      stored = PathFor(hash);
    }
  }
  auto gone = [&hash] {
    return absl::NotFoundError(
        absl::StrCat("the input file ", hash.short_hex(), " is no longer on the worker"));
  };
  if (stored.empty()) return gone();
  if (placement == Placement::kHardLink) {
    if (linkat(AT_FDCWD, stored.c_str(), directory_fd, name, 0) == 0) return absl::OkStatus();
    if (errno == ENOENT) return gone();
    return Errno("cannot link", stored);
  }
  int from = open(stored.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (from < 0) return gone();
  int to = openat(directory_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (to < 0) {
    close(from);
    return Errno("cannot create a copy of", stored);
  }
  ssize_t copied;
  while ((copied = copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0)) > 0 ||
         (copied < 0 && errno == EINTR)) {
  }
  close(from);
  close(to);
  if (copied < 0) return Errno("cannot copy", stored);
  return absl::OkStatus();
}

FileStoreStats FileStore::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace rexec
