// The body of a command executor process (the child side of command_protocol.h).
//
// Runs the module's static initializers once, then serves requests on descriptor 3 until the
// worker closes it: decode state, call the command's entry, encode state, return output. Each
// job's stdout and stderr go to memory files that are read back and emptied after the job, so
// output belongs to exactly one job. Global state persists from job to job within one executor,
// as in any long-lived worker process; a job that crashes or calls exit() ends the executor and
// the worker starts another.
#pragma once

#include "runtime/jit/jit_session.h"

namespace rexec {

// Serves on descriptor 3, the job's channel (jit/template_protocol.h).
[[noreturn]] void ServeCommands(const LinkedModule& module);

}  // namespace rexec
