#include "core/helper_binary.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rexec/build_config.h"

namespace rexec {
namespace {

std::vector<std::filesystem::path> SearchDirectories() {
  std::vector<std::filesystem::path> directories;
  if (const char* configured = std::getenv("REXEC_HELPER_DIR"); configured && *configured) {
    directories.emplace_back(configured);
  }
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) directories.push_back(self.parent_path());
  directories.emplace_back(kInstalledHelperDir);
  directories.emplace_back(kBuildTreeHelperDir);
  return directories;
}

}  // namespace

absl::StatusOr<std::string> FindHelperBinary(std::string_view name) {
  std::vector<std::string> looked_in;
  for (const std::filesystem::path& directory : SearchDirectories()) {
    std::filesystem::path candidate = directory / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    looked_in.push_back(directory.string());
  }
  return absl::NotFoundError(absl::StrCat("rexec's helper ", std::string(name), " is not installed (looked in ",
                                          absl::StrJoin(looked_in, ", "),
                                          "; set REXEC_HELPER_DIR to its directory)"));
}

}  // namespace rexec
