#include "runtime/exec/job_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include <kj/io.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/fd_io.h"
#include "runtime/jit/template_protocol.h"
#include "runtime/sandbox/job_file_copy.h"

namespace rexec {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("cannot ", what, ": ", strerror(errno)));
}

// The directory that holds `path`'s last component below `root`, made as needed.
absl::StatusOr<kj::AutoCloseFd> MakeParents(int root, const std::string& path, std::string& leaf) {
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  leaf = parts.back();
  parts.pop_back();
  kj::AutoCloseFd directory(dup(root));
  for (const std::string& part : parts) {
    if (mkdirat(directory.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno(absl::StrCat("make the directory of input ", path));
    }
    kj::AutoCloseFd next(openat(directory.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", path, " lies below another input that is a file"));
    }
    directory = std::move(next);
  }
  return directory;
}

absl::Status WriteOutputList(int staging, const JobFileRequest& request) {
  std::string list = absl::StrCat(request.max_output_bytes, "\n");
  for (const std::string& path : request.outputs) absl::StrAppend(&list, path, "\n");
  kj::AutoCloseFd file(openat(staging, kOutputList, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (file.get() < 0 || !WriteFully(file.get(), list.data(), list.size())) {
    return Errno("write the job's output list");
  }
  return absl::OkStatus();
}

// Regular files and directories only: anything else (a FIFO, a device an unsandboxed job made)
// is never opened for reading.
bool IsFileOrDirectory(const struct stat& info) {
  return S_ISREG(info.st_mode) || S_ISDIR(info.st_mode);
}

// `path` beneath `root`, following no link at all; -1 for anything but a file or directory.
int OpenBeneath(int root, const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  kj::AutoCloseFd located(static_cast<int>(syscall(SYS_openat2, root, path.c_str(), &how, sizeof how)));
  struct stat info;
  if (located.get() < 0 || fstat(located.get(), &info) != 0 || !IsFileOrDirectory(info)) return -1;
  how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  return static_cast<int>(syscall(SYS_openat2, root, path.c_str(), &how, sizeof how));
}

// Reads outputs into `out`, within the bounds; false once a bound is reached.
class OutputReader {
 public:
  OutputReader(uint64_t max_bytes, FetchedOutputs& out) : bytes_left_(max_bytes), out_(out) {}

  bool Read(int fd, const std::string& path) {
    struct stat info;
    if (fstat(fd, &info) != 0) return true;
    if (S_ISREG(info.st_mode)) return ReadFile(fd, path, info.st_size);
    if (!S_ISDIR(info.st_mode)) return true;
    return ReadDirectory(fd, path);
  }

  bool ok() const { return !over_; }

 private:
  bool TakeEntry() {
    if (entries_++ < kMaxOutputEntries) return true;
    Over(absl::StrCat("more than ", kMaxOutputEntries, " output files"));
    return false;
  }

  void Over(std::string what) {
    over_ = true;
    out_.problems.push_back(absl::StrCat(what, ": the rest are not returned"));
  }

  bool ReadFile(int fd, const std::string& path, uint64_t size_hint) {
    if (!TakeEntry()) return false;
    if (size_hint > bytes_left_) {
      Over(absl::StrCat("the outputs exceed ", total_bytes(), " bytes (--max-output-files)"));
      return false;
    }
    std::string data;
    data.reserve(size_hint);
    char buffer[64 << 10];
    ssize_t got;
    while ((got = ReadSome(fd, buffer, sizeof buffer)) > 0) {
      if (static_cast<uint64_t>(got) > bytes_left_) {
        Over(absl::StrCat("the outputs exceed ", total_bytes(), " bytes (--max-output-files)"));
        return false;
      }
      bytes_left_ -= got;
      used_ += got;
      data.append(buffer, got);
    }
    out_.files.push_back({path, std::move(data)});
    return true;
  }

  bool ReadDirectory(int fd, const std::string& path) {
    if (!TakeEntry()) return false;
    DIR* listing = fdopendir(dup(fd));
    if (listing == nullptr) return true;
    std::vector<std::string> names;
    while (dirent* entry = readdir(listing)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
      if (names.size() > kMaxOutputEntries) break;
    }
    closedir(listing);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      struct stat info;
      if (fstatat(fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 || !IsFileOrDirectory(info)) {
        continue;  // a link, something special, or gone
      }
      kj::AutoCloseFd child(openat(fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (child.get() < 0) continue;  // a link, or gone
      if (!Read(child.get(), absl::StrCat(path, "/", name))) return false;
    }
    return true;
  }

  uint64_t total_bytes() const { return bytes_left_ + used_; }

  uint64_t bytes_left_;
  uint64_t used_ = 0;
  uint64_t entries_ = 0;
  bool over_ = false;
  FetchedOutputs& out_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobStaging>> JobStaging::Prepare(
    FileStore& store, const JobFileRequest& request, std::optional<SandboxOwner> sandboxed) {
  static std::atomic<uint64_t> counter{0};
  std::string path =
      (store.staging_directory() / absl::StrCat("job-", getpid(), "-", ++counter)).string();
  // 0711: the jobs' id outside may pass through to in/ and out/, and list nothing.
  if (mkdir(path.c_str(), 0711) != 0) return Errno(absl::StrCat("make ", path));
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    rmdir(path.c_str());
    return Errno(absl::StrCat("open ", path));
  }
  std::unique_ptr<JobStaging> staging(new JobStaging(path, fd, request, sandboxed.has_value()));

  const char* inputs_directory = sandboxed ? kStagedInputs : template_protocol::kUnsandboxedWork;
  if (mkdirat(fd, inputs_directory, 0755) != 0) return Errno("make the job's input directory");
  kj::AutoCloseFd inputs(openat(fd, inputs_directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (inputs.get() < 0) return Errno("open the job's input directory");
  const FileStore::Placement placement =
      sandboxed ? FileStore::Placement::kHardLink : FileStore::Placement::kCopy;
  for (const JobInput& input : request.inputs) {
    std::string leaf;
    absl::StatusOr<kj::AutoCloseFd> parent = MakeParents(inputs.get(), input.path, leaf);
    if (!parent.ok()) return parent.status();
    absl::Status placed = store.PlaceInto(input.hash, parent->get(), leaf.c_str(), placement);
    if (!placed.ok()) {
      if (placed.code() == absl::StatusCode::kNotFound) {
        return absl::NotFoundError(absl::StrCat("input ", input.path, ": ", placed.message()));
      }
      return placed;
    }
  }

  if (sandboxed && !request.outputs.empty()) {
    if (mkdirat(fd, kStagedOutputs, 0700) != 0 ||
        fchownat(fd, kStagedOutputs, sandboxed->uid, sandboxed->gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return Errno("make the job's output directory");
    }
    if (absl::Status listed = WriteOutputList(fd, request); !listed.ok()) return listed;
  }
  return staging;
}

JobStaging::~JobStaging() {
  close(fd_);
  std::error_code error;
  std::filesystem::remove_all(path_, error);  // never follows a link
}

FetchedOutputs JobStaging::CollectOutputs() const {
  FetchedOutputs out;
  if (outputs_.empty()) return out;
  kj::AutoCloseFd root(openat(fd_, sandboxed_ ? kStagedOutputs : template_protocol::kUnsandboxedWork,
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  OutputReader reader(max_output_bytes_, out);
  for (const std::string& path : outputs_) {
    kj::AutoCloseFd opened(root.get() < 0 ? -1 : OpenBeneath(root.get(), path));
    if (opened.get() < 0) {
      out.problems.push_back(absl::StrCat(
          "output ", path,
          ": not found after the job (missing, or not a regular file or directory)"));
      continue;
    }
    if (!reader.Read(opened.get(), path)) break;
  }
  return out;
}

}  // namespace rexec
