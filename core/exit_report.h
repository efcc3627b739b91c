// How a job's process tells the process that waits for it (its shim, or its sandbox's init) its
// exit code just before it ends, and how that process waits for whichever comes first.
//
// Why: between a process's _exit() and its parent's waitpid() returning, the kernel frees the
// process's memory and files: ~0.1 ms for a tiny process on a VM, ~0.35 ms for a job forked from
// a module template, more than the rest of a plain program's run. A job that reports its code
// first ends, as far as its client can see, without waiting for its own teardown.
//
// The report is a queued signal to the parent carrying the code (sigqueue), so the program sees
// no extra descriptor or mapping. It is untrusted, like everything the job does: it can only end
// the job early with a code of its choosing, which the job could do anyway by exiting. Whoever
// receives a report kills the job's processes right after passing the report on.
#pragma once

#include <sys/types.h>

namespace rexec {

// In the job's parent, before it forks the job: blocks SIGCHLD and the report signal, so that
// neither is lost (nor, for the report, kills the parent) until AwaitJobEnd takes them.
void HoldExitReports();

// In the job, right after the fork: undoes HoldExitReports for the job's own process.
void ReleaseExitReports();

// In the job: makes ReportExit tell the job's parent, from this process only (a child the
// program forks and that exits is not the job ending).
void ReportExitToParent();

// Sends `code` to the parent named by ReportExitToParent, if this is that process. Async-signal-
// safe; a no-op otherwise.
void ReportExit(int code);

// How a job ended, as its waiting process learned it.
struct JobEnd {
  int wait_status = 0;    // as waitpid reports it
  bool reported = false;  // from the job's report: its processes may still be there, to be killed
};

// In the job's parent, once the job has ended or reported: writes the job's wait status (an int)
// to `status_fd` (a pipe to the worker, or to a shim) and waits until the reader has taken it
// and closed its end, at most a second; false if it could not be written. Only then may the
// job's processes be torn down (and the parent exit, a pid namespace's teardown with it): that
// is kernel work a kernel without full preemption (PREEMPT_NONE, as on this machine) does not
// interrupt, and done at once it holds the CPU the reader was just woken on, ~0.3 ms here.
bool PassOnStatus(int status_fd, int wait_status);

// In the job's parent (shim or init): waits until `job` reports its exit code or ends, reaping
// every other child that ends meanwhile (init adopts orphans, which would otherwise stay zombies
// and count against the job's process limit). Only a report sent by `job` itself counts.
// Leaves SIGCHLD and the report signal blocked. `wait_status` is 0x7f00 (exit code 127) if
// waiting failed.
JobEnd AwaitJobEnd(pid_t job);

}  // namespace rexec
