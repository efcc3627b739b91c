#include "compiler/compile_flags.h"

#include <array>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

// Flags whose value may follow as the next argument.
constexpr std::array<std::string_view, 6> kSeparateValueFlags = {"-I", "-D", "-U", "-isystem",
                                                                  "-include", "-iquote"};

// Prefixes that are accepted with their value attached (-O2, -DN=5, -std=c++20, -Wall, ...).
constexpr std::array<std::string_view, 13> kAcceptedPrefixes = {
    "-O", "-g", "-std=", "-D", "-U", "-I", "-W", "-isystem", "-include", "-iquote", "-f", "-pthread",
    "-pedantic"};

// -f options that change the output format or load code into the compiler.
constexpr std::array<std::string_view, 6> kRefusedFPrefixes = {
    "-fplugin", "-fpass-plugin", "-fembed-bitcode", "-flto", "-fsanitize", "-fprofile"};

}  // namespace

bool CompileFlagTakesValue(const std::string& flag) {
  for (std::string_view f : kSeparateValueFlags) {
    if (flag == f) return true;
  }
  return false;
}

absl::Status ValidateCompileFlags(const std::vector<std::string>& flags) {
  for (size_t i = 0; i < flags.size(); ++i) {
    const std::string& flag = flags[i];
    if (flag == "-w") continue;
    if (CompileFlagTakesValue(flag)) {
      if (i + 1 == flags.size()) {
        return absl::InvalidArgumentError(absl::StrCat("flag ", flag, " needs a value"));
      }
      ++i;
      continue;
    }
    for (std::string_view refused : kRefusedFPrefixes) {
      if (std::string_view(flag).starts_with(refused)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "flag ", flag, " is not supported: the worker JIT-compiles plain bitcode"));
      }
    }
    bool accepted = false;
    for (std::string_view prefix : kAcceptedPrefixes) {
      if (std::string_view(flag).starts_with(prefix)) accepted = true;
    }
    if (!accepted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "flag ", flag,
          " is not supported (accepted: -O<n>, -g, -std=, -D, -U, -I, -isystem, -include, -w, "
          "-W<warning>, -f<option>, -pthread, -pedantic)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace rexec
