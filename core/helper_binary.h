// Where rexec's helper executables live (the compile server; later the job executors).
//
// The worker never runs untrusted work in its own process or in a fork of it: it starts these
// helpers with execve(), so they begin with a clean address space and no inherited descriptors.
// An embedded worker runs inside someone else's binary, so the helpers cannot be found from the
// program's own name alone; they are looked up, first found wins, in:
//   1. $REXEC_HELPER_DIR
//   2. the directory of the running executable (rexec-worker and its helpers sit side by side)
//   3. the install location, <prefix>/libexec/rexec
//   4. the build tree's tools/ directory (tests and examples run from the build tree)
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rexec {

// The absolute path of the executable helper `name`, or NotFound naming every place looked in.
absl::StatusOr<std::string> FindHelperBinary(std::string_view name);

}  // namespace rexec
