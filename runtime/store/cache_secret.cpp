#include "runtime/store/cache_secret.h"

#include <fcntl.h>
#include <llvm-c/blake3.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/fd_io.h"

namespace rexec {
namespace {

std::string ErrnoText(const std::string& what, const std::filesystem::path& path) {
  return absl::StrCat("cannot ", what, " cache secret ", path.string(), ": ", std::strerror(errno));
}

absl::Status RefuseSecret(const std::filesystem::path& path, const std::string& problem) {
  return absl::FailedPreconditionError(absl::StrCat(
      "cache secret ", path.string(), " ", problem,
      "; it must be a regular file of 32 bytes, mode 0600, owned by this user. Remove it to "
      "start the cache afresh (every entry is then rebuilt)"));
}

// Writes fresh random bytes to a temporary file and links it into place. link() never replaces
// an existing file: when another worker got there first, its secret stands. That worker may also
// have removed our temporary file as a leftover (ENOENT), which it does only once its own secret
// is in place.
absl::Status CreateSecret(const std::filesystem::path& path) {
  std::array<uint8_t, CacheSecret::kSize> bytes;
  if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    return absl::UnavailableError(ErrnoText("make random bytes for", path));
  }
  std::string temp = absl::StrCat(path.string(), ".tmp-XXXXXX");
  // mkostemp opens with O_CREAT | O_EXCL and mode 0600.
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(ErrnoText("create", path));
  absl::Status status = absl::OkStatus();
  if (!WriteFully(fd, bytes.data(), bytes.size()) || fsync(fd) != 0) {
    status = absl::UnavailableError(ErrnoText("write", path));
  }
  close(fd);
  if (status.ok() && link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST &&
      errno != ENOENT) {
    status = absl::UnavailableError(ErrnoText("create", path));
  }
  unlink(temp.c_str());
  return status;
}

}  // namespace

absl::StatusOr<CacheSecret> CacheSecret::LoadOrCreate(const std::filesystem::path& directory) {
  const std::filesystem::path path = directory / kFileName;
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    absl::Status created = CreateSecret(path);
    if (!created.ok()) return created;
    fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    if (errno == ELOOP) return RefuseSecret(path, "is a symbolic link");
    return absl::UnavailableError(ErrnoText("open", path));
  }
  struct stat status;
  std::array<uint8_t, kSize> bytes;
  absl::Status problem = absl::OkStatus();
  if (fstat(fd, &status) != 0) {
    problem = absl::UnavailableError(ErrnoText("inspect", path));
  } else if (!S_ISREG(status.st_mode)) {
    problem = RefuseSecret(path, "is not a regular file");
  } else if (status.st_uid != geteuid()) {
    problem = RefuseSecret(path, absl::StrCat("is owned by uid ", status.st_uid,
                                              ", not by this worker's uid ", geteuid()));
  } else if ((status.st_mode & 077) != 0) {
    problem = RefuseSecret(path, absl::StrFormat("has mode %04o: others may read or change it",
                                                 status.st_mode & 07777));
  } else if (status.st_size != static_cast<off_t>(kSize)) {
    problem = RefuseSecret(path, absl::StrCat("holds ", status.st_size, " bytes"));
  } else if (pread(fd, bytes.data(), kSize, 0) != static_cast<ssize_t>(kSize)) {
    problem = absl::UnavailableError(ErrnoText("read", path));
  }
  close(fd);
  if (!problem.ok()) return problem;
  return CacheSecret(bytes);
}

std::string CacheSecret::Mac(const ContentHash& key, std::string_view contents) const {
  llvm_blake3_hasher hasher;
  llvm_blake3_hasher_init_keyed(&hasher, bytes_.data());
  llvm_blake3_hasher_update(&hasher, key.bytes().data(), key.bytes().size());
  llvm_blake3_hasher_update(&hasher, contents.data(), contents.size());
  std::string mac(kMacSize, '\0');
  llvm_blake3_hasher_finalize(&hasher, reinterpret_cast<uint8_t*>(mac.data()), mac.size());
  return mac;
}

bool CacheSecret::Verify(const ContentHash& key, std::string_view contents,
                         std::string_view mac) const {
  if (mac.size() != kMacSize) return false;
  std::string expected = Mac(key, contents);
  unsigned char difference = 0;
  for (size_t i = 0; i < kMacSize; ++i) difference |= expected[i] ^ mac[i];
  return difference == 0;
}

}  // namespace rexec
