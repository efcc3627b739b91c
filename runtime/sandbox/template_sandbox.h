// The sandbox as a module template process (exec/template_server.h) uses it.
//
// A template is started by the worker with exec, so it begins clean, and enters the sandbox
// itself before it reads anything: it joins the user and network namespaces every job shares
// (their descriptors are inherited), takes the job's ids, and builds the read-only system view
// (job_filesystem.h) in a mount namespace of its own, which becomes its root. It keeps its
// capabilities over those namespaces, and no others, so that each job it starts can get
// namespaces of its own; the job itself drops them (sandbox_entry.h).
#pragma once

#include "absl/status/statusor.h"
#include "runtime/sandbox/sandbox.h"
#include "runtime/sandbox/syscall_filter.h"

namespace rexec {

class TemplateSandbox {
 public:
  // Enters the sandbox as described above; the calling process must be single-threaded.
  static absl::StatusOr<TemplateSandbox> Enter(int user_namespace, int network_namespace,
                                               const SandboxOptions& options);

  // Forks the job's init, already in the job's own namespaces (sandbox_entry.h's ForkJobInit):
  // returns as fork() does.
  static pid_t ForkJobInit();

  // In the child of ForkJobInit, before its job is known: the job's ids and filesystem
  // (sandbox_entry.h's PrepareJobInit). `template_pidfd`: a pidfd of the template, closed here.
  // Then sandbox_entry::MoveInputsIn and RunJobInit do the rest of init's work.
  // Async-signal-safe.
  void PrepareJobInit(int template_pidfd) const;
  // In the job, forked by init: sandbox_entry.h's HardenJob. Async-signal-safe.
  void HardenJob() const;

 private:
  TemplateSandbox(SandboxOptions options, SyscallFilter filter)
      : options_(options), filter_(std::move(filter)) {}

  SandboxOptions options_;
  SyscallFilter filter_;
};

}  // namespace rexec
