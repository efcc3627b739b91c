// A module template process from the inside (the worker's side is jit/module_template.h).
//
// Links the one module the worker sends, then serves launch requests: each forks a job from this
// process, which has linked the module but run none of its code, so every job starts with fresh
// globals. The forked child places the job's descriptors, enters the job's own sandbox
// namespaces (or, unsandboxed, its own process group) and becomes the program or the command
// executor. The process the template forks is the job's shim: it reports the job's wait status
// on the status pipe, and kills the job on SIGTERM.
//
//   sandboxed:    template ── clone ─▶ init, pid 1 of the job's new namespaces, the shim
//                                       └─ fork ─▶ the job
//   unsandboxed:  template ── fork ─▶ shim (subreaper of what the job leaves) └─ fork ─▶ the job
//
// Sandboxed, one clone(2) makes the namespaces and their init at once: a shim outside them
// would cost a third fork per job of this process, which maps LLVM (~0.5 ms each).
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
