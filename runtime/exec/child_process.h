// A job's process: a fork of the worker with its standard streams on pipes.
//
// The child gets its own process group (so a timeout kills whatever it spawned too), dies with
// the worker (PR_SET_PDEATHSIG), starts with default signal handling, no inherited descriptors
// beyond 0-2, line-buffered stdout (output streams while it runs) and the given resource limits,
// then runs `body`, which must end the process itself (ExitChild).
//
// The parent side is kj-async: stdin is an async stream, the output pipes are non-blocking
// descriptors watched by the event loop (OutputPump reads them), and exit is observed through a
// pidfd, so the worker never blocks on a child and needs no SIGCHLD handler.
#pragma once

#include <sys/types.h>

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/function.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "runtime/exec/job_io.h"
#include "runtime/sandbox/sandbox.h"

namespace rexec {

// The parent's end of one of the child's output pipes: non-blocking, and watched for the
// child's whole life (an edge-triggered observer: read until EAGAIN before waiting on it).
struct ChildOutput {
  ChildOutput(kj::UnixEventPort& events, int fd);
  kj::AutoCloseFd fd;
  kj::UnixEventPort::FdObserver observer;
};

struct ChildLimits {
  uint64_t memory_bytes = 0;  // RLIMIT_DATA; 0 = unlimited
};

class ChildProcess {
 public:
  // `body` runs in the child only; it must not return. `extra_fd`, when given, stays open in the
  // child as descriptor 3 (a control channel). With a sandbox, `body` runs inside it, and the
  // child this object watches is the job's shim (sandbox.h), which ends as the job ends.
  static absl::StatusOr<kj::Own<ChildProcess>> Spawn(kj::LowLevelAsyncIoProvider& io,
                                                     kj::UnixEventPort& events,
                                                     const Sandbox* sandbox,
                                                     const ChildLimits& limits,
                                                     kj::FunctionParam<void()> body,
                                                     int extra_fd = -1);
  ~ChildProcess() noexcept(false);  // kills the group if the child still runs

  pid_t pid() const { return pid_; }
  ChildOutput& output(OutputKind kind) {
    return kind == OutputKind::kStdout ? *stdout_ : *stderr_;
  }
  // The write end of the child's stdin, until CloseInput().
  kj::Maybe<kj::AsyncOutputStream&> input();
  void CloseInput() { stdin_ = nullptr; }

  // The wait status once the child has ended; call at most once.
  kj::Promise<int> OnExit();
  // SIGKILL to the child's whole process group.
  void KillGroup();

 private:
  ChildProcess(kj::UnixEventPort& events, pid_t pid, int pidfd);

  pid_t pid_;
  kj::AutoCloseFd pidfd_;  // declared before the observer that watches it
  bool reaped_ = false;
  kj::Own<ChildOutput> stdout_;
  kj::Own<ChildOutput> stderr_;
  kj::Maybe<kj::Own<kj::AsyncOutputStream>> stdin_;
  kj::UnixEventPort::FdObserver exit_observer_;
};

}  // namespace rexec
