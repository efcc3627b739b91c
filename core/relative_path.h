// The paths of a job's files (inputs placed in its working directory, outputs fetched back):
// what both sides accept, so that the client refuses a bad one before anything is sent and the
// worker refuses it again from anyone else.
//
// A job path is relative, '/'-separated, with no empty, "." or ".." component, no NUL or newline,
// at most kMaxJobPathBytes long with components of at most 255 bytes: it can only name something
// below the directory it is resolved in.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace rexec {

inline constexpr size_t kMaxJobPathBytes = 1024;

// InvalidArgument naming `path` and what is wrong with it.
absl::Status CheckJobPath(std::string_view path);

// True when `path` is `prefix` or lies below it (both checked job paths).
bool JobPathWithin(std::string_view path, std::string_view prefix);

}  // namespace rexec
