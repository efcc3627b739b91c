// Parsing of flag values shared by the rexec tools: sizes, durations, HOST:PORT, token files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rexec {

// "1048576", "64K", "16M", "2G" (powers of 1024).
absl::StatusOr<uint64_t> ParseByteSize(std::string_view text);
// Seconds, fractions allowed: "2", "0.5". Returns milliseconds, at least 1 for a positive value.
absl::StatusOr<uint32_t> ParseSecondsAsMilliseconds(std::string_view text);
// The token in a file, trailing whitespace removed; an empty file is an error.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// For "--name=value" or "--name value": the value, advancing `i` past it in the second form.
// Returns false when `arg` is not this flag. A missing value sets `error`.
bool MatchFlag(std::string_view name, int argc, char** argv, int& i, std::string& value,
               std::string& error);

}  // namespace rexec
