// A job's process, as the worker sees it: started from its module's template
// (jit/module_template.h), never forked from the worker, with its standard streams and its
// channel (a program's arguments, an executor's command protocol) on pipes.
//
// The worker's side is kj-async: stdin is an async stream, the output pipes are non-blocking
// descriptors watched by the event loop (OutputPump reads them), and the end is the job's wait
// status, which the job's shim (or init) writes to a pipe only it holds. SIGTERM to the shim,
// through a pidfd, makes it kill the job and every process the job started, then report.
#pragma once

#include <sys/types.h>

#include <kj/async-io.h>
#include <kj/async-unix.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/exec/job_io.h"
#include "runtime/jit/module_template.h"

namespace rexec {

// The parent's end of one of the child's output pipes: non-blocking, and watched for the
// child's whole life (an edge-triggered observer: read until EAGAIN before waiting on it).
struct ChildOutput {
  ChildOutput(kj::UnixEventPort& events, int fd);
  kj::AutoCloseFd fd;
  kj::UnixEventPort::FdObserver observer;
};

struct ChildLimits {
  uint64_t memory_bytes = 0;  // exec/memory_limit.h; 0 = unlimited
};

class ChildProcess {
 public:
  static absl::StatusOr<kj::Own<ChildProcess>> Launch(kj::LowLevelAsyncIoProvider& io,
                                                      kj::UnixEventPort& events,
                                                      std::shared_ptr<const ModuleTemplate> module,
                                                      ModuleTemplate::JobKind kind,
                                                      const ChildLimits& limits,
                                                      int staging_fd = -1,
                                                      std::string_view channel_preface = {});
  // Kills the job if it still runs, and lets its template prepare the jobs to come.
  ~ChildProcess() noexcept(false);

  ChildOutput& output(OutputKind kind) {
    return kind == OutputKind::kStdout ? *stdout_ : *stderr_;
  }
  // The write end of the child's stdin, until CloseInput().
  kj::Maybe<kj::AsyncOutputStream&> input();
  void CloseInput() { stdin_ = nullptr; }
  // The worker's end of the job's channel in; call once. The first preface_sent() bytes of the
  // launch's `channel_preface` are already in it: written before the launch, they wait for the
  // job instead of the job waiting for them.
  kj::Own<kj::AsyncOutputStream> TakeChannel() { return kj::mv(channel_); }
  size_t preface_sent() const { return preface_sent_; }
  // An executor's answers, its channel out; call once. A program has none.
  kj::Own<kj::AsyncInputStream> TakeAnswers() { return kj::mv(answers_); }

  // The job's wait status once it has ended; call at most once.
  kj::Promise<int> OnExit();
  // Ends the job and every process it started (through its shim); OnExit() follows.
  void Kill();

 private:
  ChildProcess(kj::UnixEventPort& events, std::shared_ptr<const ModuleTemplate> module, int pidfd,
               int status_fd);

  // Kept alive while the job runs: a template's jobs end with it.
  std::shared_ptr<const ModuleTemplate> module_;
  kj::AutoCloseFd pidfd_;   // the shim's: how Kill() reaches it
  kj::AutoCloseFd status_;  // declared before the observer that watches it
  bool ended_ = false;
  size_t preface_sent_ = 0;
  kj::Own<ChildOutput> stdout_;
  kj::Own<ChildOutput> stderr_;
  kj::Maybe<kj::Own<kj::AsyncOutputStream>> stdin_;
  kj::Own<kj::AsyncOutputStream> channel_;
  kj::Own<kj::AsyncInputStream> answers_;
  kj::UnixEventPort::FdObserver exit_observer_;
};

}  // namespace rexec
