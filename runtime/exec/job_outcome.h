// How a job ended, as the executor reports it (the service turns it into a wire JobResult).
#pragma once

#include <cstdint>
#include <string>

namespace rexec {

struct JobOutcome {
  enum class Kind {
    kExited,               // code = exit code (or a command's main() result)
    kSignaled,             // code = signal number
    kTimedOut,             // limit_ms
    kOutputLimitExceeded,  // output_bytes
    kFailed,               // rexec could not run it: stage + message
    kException,            // a command's main() threw: exception_type + message
  };
  enum class Stage { kRequest, kCompile, kLink, kStart, kInternal, kLibrary };

  Kind kind = Kind::kFailed;
  int code = 0;
  uint32_t limit_ms = 0;
  uint64_t output_bytes = 0;
  Stage stage = Stage::kInternal;
  std::string message;
  std::string exception_type;
  std::string state;  // a command's state after main()
  uint64_t run_us = 0;

  static JobOutcome Failed(Stage stage, std::string message) {
    JobOutcome outcome;
    outcome.stage = stage;
    outcome.message = std::move(message);
    return outcome;
  }
};

}  // namespace rexec
