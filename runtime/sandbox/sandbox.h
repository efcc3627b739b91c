// The sandbox every process that runs user code enters before the first instruction of it.
//
// A job sees (job_filesystem.h) only the system's libraries and a few /etc files, read-only,
// plus private writable /work (its working directory) and /tmp. It runs as uid/gid 1000 in a
// user namespace whose only mapped id is an unprivileged one outside: the worker's own user, or
// `nobody` when the worker runs as root, so even root's jobs are nobody to the host. It has no
// capabilities, its own pid namespace (it is init of its tree: when it ends, every process it
// started is gone, daemons included), no network (one empty network namespace, made once at
// start and joined by every job: creating one per job is slow and serialised in the kernel),
// private IPC and hostname, no_new_privs, a seccomp filter (syscall_filter.h) and resource
// limits (processes, open files, file size, no core dumps).
//
// Shape (sandbox_entry.h): a shim joins the namespaces and stays outside, waiting; its child is
// init (pid 1) of the new pid namespace, which mounts the job's private directories; init's
// child is the job (pid 2). The job cannot be pid 1: init ignores every signal it has no handler
// for, so a job's own abort() would not end it. Jobs start from module templates
// (template_sandbox.h), whose mount namespace already holds the read-only system view, so a job
// pays for two forks and a few mounts (bench/isolation_cost measures it). Helpers that run no
// user code but read untrusted input (the compile server) enter through EnterInChild().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/sandbox/syscall_filter.h"

namespace rexec {

struct SandboxOptions {
  uint64_t scratch_bytes = 256ull << 20;  // size of /work and of /tmp, each
  // Processes and threads, counted across all running jobs (they share one user id).
  uint32_t max_processes = 512;
  uint32_t max_open_files = 1024;
  uint64_t max_file_bytes = 1ull << 30;
};

// The ids a job runs as inside its namespace.
inline constexpr uid_t kJobUid = 1000;
inline constexpr gid_t kJobGid = 1000;

class Sandbox {
 public:
  // Prepares the namespaces every job joins and proves them by running an empty job.
  // Unavailable, with the kernel's reason, where the kernel cannot provide them.
  static absl::StatusOr<std::unique_ptr<Sandbox>> Create(const SandboxOptions& options);
  ~Sandbox();

  // Call in a freshly forked, single-threaded child before any user code. Returns only in the
  // job's process, inside the sandbox; the calling process stays outside, waits for the job and
  // exits with its status. Async-signal-safe. On failure it
  // writes the reason to descriptor 2 and exits with 126 (the worker reports that).
  void EnterInChild() const;

  // The id jobs have outside their namespace.
  uid_t host_uid() const { return host_uid_; }
  gid_t host_gid() const { return host_gid_; }

  // What a module template needs to enter the sandbox itself (template_sandbox.h): it is
  // started with exec, clean, and given these descriptors and options.
  int user_namespace_fd() const { return user_namespace_; }
  int network_namespace_fd() const { return network_namespace_; }
  const SandboxOptions& options() const { return options_; }

 private:
  Sandbox() = default;

  SandboxOptions options_;
  SyscallFilter filter_;
  int user_namespace_ = -1;
  int network_namespace_ = -1;
  uid_t host_uid_ = 0;
  gid_t host_gid_ = 0;
};

}  // namespace rexec
