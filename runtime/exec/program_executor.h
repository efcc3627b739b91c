// Runs a plain program (`int main(int, char**)`) of a linked module in a fresh process.
//
// Each run is a fork of the module's template (jit/module_template.h), taken after the module
// was linked but before any of its initializers ran, so every run sees fresh globals, exactly
// like a new process. Output is pumped to the JobIo as
// it arrives, stdin is pulled from it as the child reads, and the wall-time and output limits are
// enforced by killing the child's process group.
#pragma once

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/timer.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/exec/job_io.h"
#include "runtime/exec/job_outcome.h"
#include "runtime/jit/module_template.h"

namespace rexec {

struct ExecutionContext {
  kj::LowLevelAsyncIoProvider& io;
  kj::UnixEventPort& events;
  kj::Timer& timer;
};

struct JobLimits {
  uint32_t wall_time_ms = 0;   // 0 = none
  uint64_t memory_bytes = 0;   // 0 = none
  uint64_t output_bytes = 0;   // 0 = none
};

// How a job's process ended, from its wait status and what rexec did to it (killed it at the
// time limit, or for its output). Shared by programs and command executors.
JobOutcome ProcessEnded(int wait_status, bool timed_out, bool output_limit_hit,
                        const JobLimits& limits, uint64_t run_us);

// `argv[0]` is the program's name. `io` must outlive the returned promise. `staging_fd`: the
// job's staging directory for its files (job_files.h), lent until the job has ended; -1: none.
kj::Promise<JobOutcome> RunProgram(ExecutionContext& context,
                                   std::shared_ptr<const ModuleTemplate> module,
                                   std::vector<std::string> argv, const JobLimits& limits,
                                   JobIo& io, int staging_fd = -1);

}  // namespace rexec
