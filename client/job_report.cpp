#include <string.h>

#include "absl/strings/str_cat.h"
#include "rexec/client.h"

namespace rexec {
namespace {

std::string SignalName(int signal_number) {
  const char* abbreviation = sigabbrev_np(signal_number);
  return abbreviation == nullptr ? "unknown signal" : absl::StrCat("SIG", abbreviation);
}

}  // namespace

int JobReport::ShellExitCode() const {
  switch (outcome) {
    case Outcome::kExited:
      return code;
    case Outcome::kSignaled:
      return 128 + code;
    case Outcome::kTimedOut:
      return 124;
    case Outcome::kOutputLimitExceeded:
    case Outcome::kFailed:
      return 125;
    case Outcome::kException:
      return 1;
  }
  return 125;
}

std::string JobReport::Describe() const {
  switch (outcome) {
    case Outcome::kExited:
      return "";
    case Outcome::kSignaled:
      return absl::StrCat("program killed by signal ", code, " (", SignalName(code), ")");
    case Outcome::kTimedOut:
      return time_limit_ms % 1000 == 0
                 ? absl::StrCat("program exceeded its time limit (", time_limit_ms / 1000, " s)")
                 : absl::StrCat("program exceeded its time limit (", time_limit_ms, " ms)");
    case Outcome::kOutputLimitExceeded:
      return absl::StrCat("program exceeded its output limit (", output_limit_bytes,
                          " bytes) and was killed");
    case Outcome::kFailed:
      // Says itself what is missing: "library not found: -lNAME".
      if (failure_stage == "library") return message;
      return absl::StrCat(failure_stage, " failed on worker: ", message);
    case Outcome::kException:
      return absl::StrCat("command threw ", exception_type,
                          message.empty() ? "" : absl::StrCat(": ", message));
  }
  return message;
}

}  // namespace rexec
