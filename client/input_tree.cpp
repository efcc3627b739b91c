#include "client/input_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/relative_path.h"

namespace rexec {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHashChunk = 1 << 20;

std::string Describe(const FileInput& input) {
  return input.destination.empty() ? input.source
                                   : absl::StrCat(input.source, ":", input.destination);
}

absl::Status Refuse(const FileInput& input, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--input ", Describe(input), ": ", why));
}

std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string WithoutLeadingDotSlash(std::string path) {
  while (path.starts_with("./")) path.erase(0, 2);
  return path;
}

// Where an input goes when no DEST is given: the source as given, or its name when absolute.
absl::StatusOr<std::string> Destination(const FileInput& input) {
  if (!input.destination.empty()) {
    std::string destination = WithoutTrailingSlashes(input.destination);
    if (absl::Status checked = CheckJobPath(destination); !checked.ok()) {
      return Refuse(input, checked.message());
    }
    return destination;
  }
  fs::path source = fs::path(WithoutTrailingSlashes(input.source)).lexically_normal();
  std::string destination =
      source.is_absolute() ? source.filename().string() : WithoutLeadingDotSlash(source.string());
  destination = WithoutTrailingSlashes(destination);
  if (destination.empty() || destination == "." || destination == "/") {
    return Refuse(input, "give SRC:DEST to say where it goes in the job's working directory");
  }
  if (absl::Status checked = CheckJobPath(destination); !checked.ok()) {
    return Refuse(input, absl::StrCat(checked.message(), " (give SRC:DEST to place it)"));
  }
  return destination;
}

absl::StatusOr<InputTreeFile> HashFile(const FileInput& input, const fs::path& source,
                                       std::string path) {
  int fd = open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Refuse(input, absl::StrCat("cannot read ", source.string(), ": ", strerror(errno)));
  ContentStreamHasher hasher;
  uint64_t size = 0;
  std::string buffer(kHashChunk, '\0');
  ssize_t got;
  while ((got = read(fd, buffer.data(), buffer.size())) > 0 || (got < 0 && errno == EINTR)) {
    if (got < 0) continue;
    hasher.Update(std::string_view(buffer.data(), got));
    size += got;
  }
  const int saved = errno;
  close(fd);
  if (got < 0) {
    return Refuse(input, absl::StrCat("cannot read ", source.string(), ": ", strerror(saved)));
  }
  return InputTreeFile{std::move(path), source, hasher.Finish(), size};
}

bool Within(const fs::path& path, const fs::path& root) {
  fs::path relative = path.lexically_relative(root);
  return !relative.empty() && *relative.begin() != "..";
}

// The files of the directory `root`, placed below `destination`.
absl::Status AddDirectory(const FileInput& input, const fs::path& root,
                          const std::string& destination, std::vector<InputTreeFile>& files) {
  std::error_code error;
  const fs::path canonical_root = fs::canonical(root, error);
  if (error) return Refuse(input, error.message());
  for (fs::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    const fs::directory_entry& entry = *it;
    const std::string relative = entry.path().lexically_relative(root).generic_string();
    const std::string path = absl::StrCat(destination, "/", relative);
    fs::file_status status = entry.symlink_status(error);
    if (error) break;
    fs::path source = entry.path();
    if (fs::is_symlink(status)) {
      fs::path target = fs::weakly_canonical(entry.path(), error);
      if (error || !Within(target, canonical_root)) {
        return Refuse(input, absl::StrCat(entry.path().string(), " is a link pointing outside ",
                                          root.string(), ": refused"));
      }
      status = fs::status(target, error);
      if (error || fs::is_directory(status)) {
        return Refuse(input, absl::StrCat(entry.path().string(),
                                          " is a link to a directory: not supported"));
      }
      source = target;
    }
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status)) {
      return Refuse(input, absl::StrCat(entry.path().string(),
                                        " is neither a regular file nor a directory"));
    }
    if (absl::Status checked = CheckJobPath(path); !checked.ok()) {
      return Refuse(input, checked.message());
    }
    absl::StatusOr<InputTreeFile> file = HashFile(input, source, path);
    if (!file.ok()) return file.status();
    files.push_back(*std::move(file));
  }
  if (error) return Refuse(input, absl::StrCat("cannot list ", root.string(), ": ", error.message()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<InputTreeFile>> BuildInputTree(const std::vector<FileInput>& inputs) {
  std::vector<InputTreeFile> files;
  for (const FileInput& input : inputs) {
    absl::StatusOr<std::string> destination = Destination(input);
    if (!destination.ok()) return destination.status();
    std::error_code error;
    fs::file_status status = fs::status(input.source, error);  // the input itself: followed
    if (error || !fs::exists(status)) {
      return Refuse(input, error ? error.message() : "no such file or directory");
    }
    if (fs::is_directory(status)) {
      if (absl::Status added = AddDirectory(input, input.source, *destination, files); !added.ok()) {
        return added;
      }
    } else if (fs::is_regular_file(status)) {
      absl::StatusOr<InputTreeFile> file = HashFile(input, input.source, *destination);
      if (!file.ok()) return file.status();
      files.push_back(*std::move(file));
    } else {
      return Refuse(input, "neither a regular file nor a directory");
    }
  }
  std::sort(files.begin(), files.end(),
            [](const InputTreeFile& a, const InputTreeFile& b) { return a.path < b.path; });
  absl::flat_hash_set<std::string_view> paths;
  for (const InputTreeFile& file : files) {
    if (!paths.insert(file.path).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("two inputs go to ", file.path, " in the job's working directory"));
    }
  }
  for (const InputTreeFile& file : files) {
    for (size_t slash = file.path.find('/'); slash != std::string::npos;
         slash = file.path.find('/', slash + 1)) {
      if (paths.contains(std::string_view(file.path).substr(0, slash))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input ", file.path, " lies below ", file.path.substr(0, slash), ", a file"));
      }
    }
  }
  return files;
}

absl::StatusOr<std::vector<std::string>> CheckOutputPaths(const std::vector<std::string>& outputs) {
  std::vector<std::string> checked;
  for (const std::string& output : outputs) {
    std::string path = WithoutTrailingSlashes(WithoutLeadingDotSlash(output));
    if (absl::Status valid = CheckJobPath(path); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--output ", output, ": ", valid.message()));
    }
    for (const std::string& other : checked) {
      if (JobPathWithin(path, other) || JobPathWithin(other, path)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--output ", output, " overlaps --output ", other));
      }
    }
    checked.push_back(std::move(path));
  }
  return checked;
}

std::vector<std::string> WriteOutputFiles(const std::vector<OutputFile>& files,
                                          const std::vector<std::string>& requested,
                                          const fs::path& directory) {
  std::vector<std::string> problems;
  for (const OutputFile& file : files) {
    const bool asked = std::any_of(requested.begin(), requested.end(), [&](const std::string& r) {
      return JobPathWithin(file.path, r);
    });
    if (!CheckJobPath(file.path).ok() || !asked) {
      problems.push_back(absl::StrCat("output ", file.path, ": not asked for; not written"));
      continue;
    }
    fs::path target = directory / file.path;
    std::error_code error;
    fs::create_directories(target.parent_path(), error);
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (error || !out.write(file.data.data(), static_cast<std::streamsize>(file.data.size()))) {
      problems.push_back(absl::StrCat("output ", file.path, ": cannot write ", target.string()));
    }
  }
  return problems;
}

}  // namespace rexec
