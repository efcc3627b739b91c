#include "compiler/preamble_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/atomic_file.h"

namespace rexec {
namespace {

// One line per input: "size mtime_seconds mtime_nanoseconds inode path".
std::optional<std::string> StampOf(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  return absl::StrCat(info.st_size, " ", info.st_mtim.tv_sec, " ", info.st_mtim.tv_nsec, " ",
                      info.st_ino, " ", path);
}

}  // namespace

PreambleCache::PreambleCache(std::filesystem::path directory) : directory_(std::move(directory)) {}

std::optional<std::string> PreambleCache::Find(const ContentHash& key) const {
  const std::filesystem::path base = directory_ / key.hex();
  std::ifstream listing(absl::StrCat(base.string(), ".inputs"));
  if (!listing) return std::nullopt;
  std::string line;
  size_t count = 0;
  while (std::getline(listing, line)) {
    // The path is everything after the fourth space; the stamp must match as a whole.
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(' ', 4));
    if (fields.size() != 5 || StampOf(fields[4]) != line) return std::nullopt;
    ++count;
  }
  if (count == 0) return std::nullopt;  // written empty or cut short: not trusted
  std::string pch = absl::StrCat(base.string(), ".pch");
  // Used now: eviction keeps the most recently used entries.
  if (utimensat(AT_FDCWD, pch.c_str(), nullptr, 0) != 0) return std::nullopt;
  return pch;
}

bool PreambleCache::SeenBefore(const ContentHash& key) const {
  const std::string marker = (directory_ / absl::StrCat(key.hex(), ".seen")).string();
  if (access(marker.c_str(), F_OK) == 0) return true;
  std::error_code error;
  std::filesystem::create_directories(directory_, error);
  const int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
  return false;
}

std::string PreambleCache::TemporaryPath(const ContentHash& key) const {
  return (directory_ / absl::StrCat(key.hex(), ".pch.", getpid(), ".tmp")).string();
}

bool PreambleCache::Commit(const ContentHash& key, const std::string& temporary,
                           const std::vector<std::string>& inputs) {
  std::string listing;
  for (const std::string& input : inputs) {
    std::optional<std::string> stamp = StampOf(input);
    if (!stamp) {
      std::filesystem::remove(temporary);
      return false;
    }
    absl::StrAppend(&listing, *stamp, "\n");
  }
  const std::string base = (directory_ / key.hex()).string();
  // The PCH first: a listing is only ever next to the PCH it describes or a newer one built
  // from the same preamble and files.
  std::error_code error;
  std::filesystem::rename(temporary, absl::StrCat(base, ".pch"), error);
  if (error || !WriteFileAtomically(absl::StrCat(base, ".inputs"), listing).ok()) {
    std::filesystem::remove(temporary, error);
    return false;
  }
  Evict();
  return true;
}

void PreambleCache::Evict() const {
  using Entries = std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>>;
  Entries built, seen;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, error)) {
    const std::filesystem::path extension = entry.path().extension();
    Entries* kind = extension == ".pch" ? &built : extension == ".seen" ? &seen : nullptr;
    if (kind != nullptr) kind->emplace_back(entry.last_write_time(error), entry.path());
  }
  // Newest first; what is past `keep` goes, a PCH with its listing.
  auto trim = [&](Entries& entries, size_t keep) {
    if (entries.size() <= keep) return;
    std::sort(entries.begin(), entries.end(), std::greater<>());
    for (size_t i = keep; i < entries.size(); ++i) {
      std::filesystem::path path = entries[i].second;
      std::filesystem::remove(path, error);
      if (path.extension() == ".pch") std::filesystem::remove(path.replace_extension(".inputs"), error);
    }
  };
  trim(built, kMaxEntries);
  trim(seen, 4 * kMaxEntries);
}

}  // namespace rexec
