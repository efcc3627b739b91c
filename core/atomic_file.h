// Files that are either absent or complete: written to a temporary name, then renamed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace rexec {

// Writes `contents` to `path` atomically (temp file in the same directory, fsync-free rename:
// a crash may lose the file but never leaves a partial one under `path`).
absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);

// The whole file, or nullopt if it does not exist, cannot be read, or exceeds `max_bytes`.
std::optional<std::string> ReadWholeFile(const std::filesystem::path& path, uint64_t max_bytes);

}  // namespace rexec
