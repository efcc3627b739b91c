#include "tools/flag_values.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rexec {

absl::StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  uint64_t multiplier = 1;
  std::string_view digits = text;
  if (!text.empty()) {
    switch (absl::ascii_toupper(static_cast<unsigned char>(text.back()))) {
      case 'K':
        multiplier = 1ull << 10;
        break;
      case 'M':
        multiplier = 1ull << 20;
        break;
      case 'G':
        multiplier = 1ull << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) digits.remove_suffix(1);
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &value) || value > UINT64_MAX / multiplier) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", std::string(text), "' is not a size (examples: 4096, 64K, 16M, 2G)"));
  }
  return value * multiplier;
}

absl::StatusOr<uint32_t> ParseSecondsAsMilliseconds(std::string_view text) {
  double seconds = 0;
  if (!absl::SimpleAtod(absl::string_view(text.data(), text.size()), &seconds) || !std::isfinite(seconds) || seconds < 0 ||
      seconds > 4'000'000) {
    return absl::InvalidArgumentError(absl::StrCat("'", std::string(text), "' is not a number of seconds"));
  }
  if (seconds == 0) return 0;
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::llround(seconds * 1000)));
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read token file ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(contents.str()));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  return token;
}

bool MatchFlag(std::string_view name, int argc, char** argv, int& i, std::string& value,
               std::string& error) {
  std::string_view arg = argv[i];
  if (arg == name) {
    if (i + 1 >= argc) {
      error = absl::StrCat(std::string(name), " needs a value");
      return true;
    }
    value = argv[++i];
    return true;
  }
  if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
    value = std::string(arg.substr(name.size() + 1));
    return true;
  }
  return false;
}

}  // namespace rexec
