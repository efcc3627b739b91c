#include "compiler/link_inputs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "compiler/compile_flags.h"
#include "core/system_libraries.h"

namespace rexec {
namespace {

constexpr uint64_t kMaxLibraryBytes = 1ull << 30;

// A -l or .a/.o argument, before it is resolved: -l names resolve against every -L, wherever on
// the command line the -L is (as with ld).
struct LibraryArgument {
  bool is_name;       // -lNAME
  std::string value;  // NAME, or the file's path
};

absl::StatusOr<Library> ReadLibraryFile(const std::string& path, Library::Kind kind) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": ", error.message()));
  }
  if (size > kMaxLibraryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is larger than the ", kMaxLibraryBytes, " bytes rexec ships"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  Library library;
  library.kind = kind;
  library.name = std::filesystem::path(path).filename().string();
  library.bytes = contents.str();
  library.hash = ContentHash::Of(library.bytes);
  return library;
}

bool IsFile(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

absl::StatusOr<Library> ResolveName(const std::string& name,
                                    const std::vector<std::string>& search_dirs) {
  const std::string archive = absl::StrCat("lib", name, ".a");
  for (const std::string& dir : search_dirs) {
    if (std::filesystem::path path = std::filesystem::path(dir) / archive; IsFile(path)) {
      return ReadLibraryFile(path.string(), Library::Kind::kArchive);
    }
  }
  Library system;
  system.kind = Library::Kind::kSystem;
  system.name = name;
  for (const std::string& dir : SystemLibraryDirectories()) {
    if (IsFile(std::filesystem::path(dir) / absl::StrCat("lib", name, ".so"))) return system;
    if (std::filesystem::path path = std::filesystem::path(dir) / archive; IsFile(path)) {
      return ReadLibraryFile(path.string(), Library::Kind::kArchive);
    }
  }
  return system;
}

}  // namespace

bool LinkFlagTakesValue(const std::string& flag) { return flag == "-l" || flag == "-L"; }

absl::StatusOr<LinkInputs> GatherLinkInputs(const std::vector<std::string>& sources,
                                            const std::vector<std::string>& flags) {
  LinkInputs inputs;
  std::vector<LibraryArgument> arguments;
  std::vector<std::string> search_dirs;
  for (size_t i = 0; i < flags.size(); ++i) {
    const std::string& flag = flags[i];
    if (LinkFlagTakesValue(flag) || CompileFlagTakesValue(flag)) {
      if (i + 1 == flags.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag ", flag, " needs a value"));
      }
      if (flag == "-l") {
        arguments.push_back({true, flags[++i]});
      } else if (flag == "-L") {
        search_dirs.push_back(flags[++i]);
      } else {
        inputs.flags.push_back(flag);
        inputs.flags.push_back(flags[++i]);
      }
    } else if (flag.starts_with("-l")) {
      arguments.push_back({true, flag.substr(2)});
    } else if (flag.starts_with("-L")) {
      search_dirs.push_back(flag.substr(2));
    } else {
      inputs.flags.push_back(flag);
    }
  }
  for (const std::string& source : sources) {
    if (absl::EndsWith(source, ".a") || absl::EndsWith(source, ".o")) {
      arguments.push_back({false, source});
    } else {
      inputs.sources.push_back(source);
    }
  }
  // Files and names interleave on a real command line; here flags and sources arrive apart, so
  // the files come first (a file rarely needs a later -l, and a -l never a file).
  std::stable_partition(arguments.begin(), arguments.end(),
                        [](const LibraryArgument& argument) { return !argument.is_name; });
  for (const LibraryArgument& argument : arguments) {
    absl::StatusOr<Library> library;
    if (!argument.is_name) {
      library = ReadLibraryFile(argument.value, absl::EndsWith(argument.value, ".a")
                                                    ? Library::Kind::kArchive
                                                    : Library::Kind::kObject);
    } else if (!IsValidLibraryName(argument.value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("-l", argument.value, " is not a library name rexec accepts"));
    } else if (IsRuntimeLibraryName(argument.value)) {
      continue;  // every job's process has the runtime libraries
    } else {
      library = ResolveName(argument.value, search_dirs);
    }
    if (!library.ok()) return library.status();
    inputs.libraries.push_back(*std::move(library));
  }
  return inputs;
}

}  // namespace rexec
