// The steps a process takes into the sandbox (sandbox.h), shared by its two ways in: a child of
// the worker that then runs a helper (Sandbox::EnterInChild) and the jobs a module template
// starts (TemplateSandbox). All async-signal-safe: they run between fork() and the job. Each
// failure writes the reason to descriptor 2 and ends the process with 126.
#pragma once

#include "runtime/sandbox/sandbox.h"

namespace rexec::sandbox_entry {

[[noreturn]] void FailInChild(const char* step);

// Makes SIGTERM to the calling process SIGKILL its `child` (the job's init, or the job): how the
// worker ends a job, leaving the caller (a shim, or init) to clean up and report. Unblocks
// SIGTERM.
void StopChildOnTerm(pid_t child);

// Joins the user and network namespaces every job shares; the process gains capabilities over
// them (and only them) and keeps dying with its parent.
void JoinSharedNamespaces(int user_namespace, int network_namespace);

// Takes the job's ids inside the user namespace. Capabilities over the namespace survive: its
// root id is unmapped, so no change of id counts as leaving root.
void TakeJobIds();

enum class View {
  kBuildWhole,   // build the whole filesystem view (the calling process sees the host's)
  kScratchOnly,  // the process already sees the read-only system view: add the job's own parts
};

// Starts the job's own mount, pid, ipc and uts namespaces and returns in the job, pid 2 of them,
// with no capabilities, the resource limits, no_new_privs and the seccomp filter. The calling
// process stays outside as the job's shim and never returns: it waits for the job and then
// either ends the way the job ended (status_fd < 0) or writes the job's wait status (an int) to
// `status_fd` and exits 0. Init (pid 1) dies with the shim, and every process of the job with
// init; SIGTERM to the shim kills init, after which the shim reports as usual. With a
// `staging_fd` (else -1), init moves the job's files in and out (job_file_copy.h); the job
// never holds it.
void StartJobTree(View view, const SandboxOptions& options, const SyscallFilter& filter,
                  int status_fd, int staging_fd = -1);

// For a caller that waits for its jobs itself (a module template), one process fewer per job:
// forks a child that is already init (pid 1) of its own mount, pid, ipc and uts namespaces, as
// clone(2) can make it, instead of a shim that makes them and forks init. Returns as fork()
// does. The caller must be single-threaded: the kernel's clone skips glibc's fork bookkeeping,
// so the child makes only async-signal-safe calls until it forks the job (with glibc's
// fork). SIGTERM is blocked in the child until init can act on it: to the init of a
// pid namespace, a signal without a handler is dropped, not delivered.
pid_t ForkJobInit();

// In the child of ForkJobInit: StartJobTree's init before its job is known. Takes the job's
// ids and builds the job's filesystem; `parent_pidfd`, a pidfd of the forking process, proves
// the parent is still there once init dies with it (PR_SET_PDEATHSIG); it is closed here.
void PrepareJobInit(const SandboxOptions& options, int parent_pidfd);
// In init: copies the job's input files from its staging directory into /work.
void MoveInputsIn(int staging_fd);
// Init's life once it has forked `job`, pid 2: reaps orphans until the job ends or reports its
// exit code (core/exit_report.h), copies the job's outputs out when it has a staging directory
// (`staging_fd`, else -1; job_file_copy.h) once every process of the job is gone, writes the
// job's wait status (an int) to `status_fd` and exits once the worker has taken it
// (PassOnStatus), which ends every other process of the namespace. SIGTERM from outside the
// namespace kills the job first. Init cannot be the job itself: it ignores every signal it has
// no handler for, its own abort() included.
[[noreturn]] void RunJobInit(pid_t job, int status_fd, int staging_fd);
// In the job, forked by init: no capabilities, the resource limits, no_new_privs and the
// seccomp filter; dies with init.
void HardenJob(const SandboxOptions& options, const SyscallFilter& filter);
}  // namespace rexec::sandbox_entry
