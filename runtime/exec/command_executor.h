// The body of a command executor process (the child side of command_protocol.h).
//
// Runs the module's static initializers once, then serves requests from its channel until the
// worker closes it: decode state, call the command's entry, encode state, answer. A job's stdout
// and stderr go to the executor's pipes, which the worker streams while the job runs; the
// executor flushes them before it answers, so output belongs to exactly one job. Global state
// persists from job to job within one executor, as in any long-lived worker process; a job that
// crashes, calls exit() or leaves a thread or process running ends the executor and the worker
// starts another.
#pragma once

#include "runtime/jit/jit_session.h"

namespace rexec {

// Serves on the job's channel (jit/template_protocol.h's kJobChannelIn and kJobChannelOut).
[[noreturn]] void ServeCommands(const LinkedModule& module);

}  // namespace rexec
