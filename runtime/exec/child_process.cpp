#include "runtime/exec/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "core/fd_io.h"

namespace rexec {
ChildOutput::ChildOutput(kj::UnixEventPort& events, int fd)
    : fd(fd), observer(events, fd, kj::UnixEventPort::FdObserver::OBSERVE_READ) {}

ChildProcess::ChildProcess(kj::UnixEventPort& events,
                           std::shared_ptr<const ModuleTemplate> module, int pidfd, int status_fd)
    : module_(std::move(module)),
      pidfd_(pidfd),
      status_(status_fd),
      exit_observer_(events, status_fd, kj::UnixEventPort::FdObserver::OBSERVE_READ) {}

ChildProcess::~ChildProcess() noexcept(false) {
  if (!ended_) Kill();  // its template reaps it
  module_->ReplenishReadyJobs();
}

absl::StatusOr<kj::Own<ChildProcess>> ChildProcess::Launch(
    kj::LowLevelAsyncIoProvider& io, kj::UnixEventPort& events,
    std::shared_ptr<const ModuleTemplate> module, ModuleTemplate::JobKind kind,
    const ChildLimits& limits, int staging_fd, std::string_view channel_preface) {
  using template_protocol::ReadyJobDescriptor;
  size_t preface_sent = 0;
  absl::StatusOr<ModuleTemplate::JobEnds> job =
      module->Launch(kind, limits.memory_bytes, staging_fd, channel_preface, preface_sent);
  if (!job.ok()) return job.status();
  auto take = [&job](ReadyJobDescriptor which, bool non_blocking) {
    const int fd = job->Take(which);
    if (non_blocking) fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
  };
  const int pidfd = take(template_protocol::kShimPidfd, false);
  const int status = take(template_protocol::kStatusRead, true);
  kj::Own<ChildProcess> child(new ChildProcess(events, std::move(module), pidfd, status),
                              kj::_::HeapDisposer<ChildProcess>::instance);
  child->preface_sent_ = preface_sent;
  child->stdout_ = kj::heap<ChildOutput>(events, take(template_protocol::kStdoutRead, true));
  child->stderr_ = kj::heap<ChildOutput>(events, take(template_protocol::kStderrRead, true));
  child->stdin_ = io.wrapOutputFd(take(template_protocol::kStdinWrite, false),
                                  kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  child->channel_ =
      io.wrapOutputFd(take(template_protocol::kChannelWrite, false),
                      kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                          kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK);
  if (kind == ModuleTemplate::JobKind::kExecutor) {
    child->answers_ = io.wrapInputFd(take(template_protocol::kChannelRead, false),
                                     kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  }
  return child;
}

kj::Maybe<kj::AsyncOutputStream&> ChildProcess::input() {
  KJ_IF_MAYBE(stream, stdin_) { return **stream; }
  return nullptr;
}

kj::Promise<int> ChildProcess::OnExit() {
  // Only the shim (or init) holds the status pipe's other end: it becomes readable when the shim
  // has written the job's status, or at its end. The status comes as soon as the job has ended
  // or reported its exit code (core/exit_report.h), its output files dealt with; the job's
  // processes are torn down only after this end closes, so no process's teardown (~0.1-0.3 ms
  // here) is part of a job's time.
  return exit_observer_.whenBecomesReadable().then([this]() -> int {
    ended_ = true;
    // Without a status the shim was killed (by rexec, at a limit, or with its template) before
    // the job ended.
    int status = 0;
    const ssize_t got = ReadSome(status_.get(), &status, sizeof status);
    return got == sizeof status ? status : SIGKILL;
  });
}

void ChildProcess::Kill() {
  if (ended_) return;
  // The shim kills the job and everything it started, then reports and exits.
  syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGTERM, nullptr, 0);
}

}  // namespace rexec
