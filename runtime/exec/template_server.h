// A module template process from the inside (the worker's side is jit/module_template.h).
//
// Links the one module the worker sends, then serves launch requests: each forks a job from this
// process, which has linked the module but run none of its code, so every job starts with fresh
// globals. The forked child places the job's descriptors, enters the job's own sandbox
// namespaces (or, unsandboxed, its own process group) and becomes the program or the command
// executor:
//
//   template ── fork ─▶ shim (reports the job's wait status on the status pipe)
//                        └─▶ init, pid 1 (sandboxed only) └─▶ the job
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
