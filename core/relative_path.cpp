#include "core/relative_path.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rexec {

absl::Status CheckJobPath(std::string_view path) {
  auto refuse = [path](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("file path '",
                                                   absl::string_view(path.data(), path.size()),
                                                   "' ", absl::string_view(why.data(), why.size())));
  };
  if (path.empty()) return refuse("is empty");
  if (path.size() > kMaxJobPathBytes) {
    return refuse(std::string(absl::StrCat("is longer than ", kMaxJobPathBytes, " bytes")));
  }
  if (path.front() == '/') {
    return refuse("is absolute: a job's files are placed below its working directory");
  }
  if (path.find('\0') != std::string_view::npos || path.find('\n') != std::string_view::npos) {
    return refuse("holds a NUL or newline");
  }
  for (absl::string_view part : absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    if (part == "..") return refuse("has a '..' component: it would leave the working directory");
    if (part.empty() || part == ".") return refuse("has an empty or '.' component");
    if (part.size() > 255) return refuse("has a component longer than 255 bytes");
  }
  return absl::OkStatus();
}

bool JobPathWithin(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace rexec
