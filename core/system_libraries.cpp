#include "core/system_libraries.h"

#include <array>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rexec/build_config.h"

namespace rexec {

bool IsRuntimeLibraryName(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kRuntime = {
      "c", "m", "stdc++", "gcc_s", "pthread", "dl", "rt", "util"};
  for (std::string_view runtime : kRuntime) {
    if (name == runtime) return true;
  }
  return false;
}

bool IsValidLibraryName(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '+' && c != '-' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

const std::vector<std::string>& SystemLibraryDirectories() {
  static const std::vector<std::string> directories = [] {
    std::vector<std::string> found;
    for (const char* base : {"/usr/local/lib", "/lib", "/usr/lib"}) {
      if (kLibraryArchitecture[0] != '\0') {
        found.push_back(absl::StrCat(base, "/", kLibraryArchitecture));
      }
      found.emplace_back(base);
    }
    return found;
  }();
  return directories;
}

std::optional<std::string> FindSystemSharedLibrary(std::string_view name) {
  if (!IsValidLibraryName(name)) return std::nullopt;
  for (const std::string& directory : SystemLibraryDirectories()) {
    std::string path = absl::StrCat(directory, "/lib", std::string(name), ".so");
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error)) return path;
  }
  return std::nullopt;
}

}  // namespace rexec
