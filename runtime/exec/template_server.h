// A module template process from the inside (the worker's side is jit/module_template.h).
//
// Links the one module the worker sends, then starts jobs' processes ahead of their launches.
// Every job starts from a fork of this process, which has linked the module but run none of its
// code, so every job starts with fresh globals. The process the template forks is the job's
// shim: it reports the job's wait status on the status pipe, and kills the job on SIGTERM.
//
//   sandboxed:    template ── clone ─▶ init, pid 1 of the job's new namespaces, the shim
//                                       └─ fork ─▶ the job
//   unsandboxed:  template ── fork ─▶ shim (subreaper of what the job leaves) └─ fork ─▶ the job
//
// Both processes are started between jobs, as background work (SCHED_BATCH until they are
// ready): the template makes the job's pipes and sockets, init takes the job's ids and builds
// its filesystem, the job's process drops its privileges (sandboxed), puts its streams and
// channel at descriptors 0-3, names itself "rexec-ready", and both wait. The template hands
// them to the worker (template_protocol.h's ReadyJobOffer), so a launch is one message from the
// worker to the job's process: no fork, namespace, mount or pipe is part of a job's start, and
// neither the template nor init is on its path (but for a job with files, sandboxed: init moves
// its inputs in, then launches it). Sandboxed, one clone(2) makes the namespaces and their init
// at once.
//
// The template itself runs no user code and never reads a job's data: a program's arguments
// and a command's states go straight to the job over its channel.
#pragma once

#include "rexec/content_hash.h"
#include "runtime/sandbox/template_sandbox.h"

namespace rexec {

struct TemplateServerOptions {
  ContentHash module;                        // names the module in the linker's messages
  const TemplateSandbox* sandbox = nullptr;  // entered already; null: jobs run unsandboxed
  uint64_t max_object_bytes = 256ull << 20;
};

// Serves on `channel` (template_protocol.h) until the worker closes it. Returns the process's
// exit code.
int ServeTemplate(int channel, const TemplateServerOptions& options);

}  // namespace rexec
