// Which clang flags a user may pass to rexec.
//
// The client compiles for the worker's target, so flags that change the target or the output
// (-target, -march, -o, -c, -S, -shared, plugins, ...) are refused rather than silently ignored:
// the bitcode would not be what the user asked for. What remains are the flags that shape the
// program itself: optimisation, debug info, language standard, macros, include paths, warnings
// and -f language options.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace rexec {

// OK, or InvalidArgument naming the first flag rexec does not accept and why.
absl::Status ValidateCompileFlags(const std::vector<std::string>& flags);

// True for a flag that consumes the next argument when written apart ("-I dir", "-D X").
bool CompileFlagTakesValue(const std::string& flag);

}  // namespace rexec
