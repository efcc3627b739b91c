#include "runtime/exec/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

// Descriptors made here and closed on every path out, unless released to their owners.
class Descriptors {
 public:
  ~Descriptors() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  absl::Status Pipe(int& read_end, int& write_end) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) {
      return absl::ResourceExhaustedError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    read_end = Keep(ends[0]);
    write_end = Keep(ends[1]);
    return absl::OkStatus();
  }
  absl::Status SocketPair(int& ours, int& theirs) {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
      return absl::ResourceExhaustedError(absl::StrCat("socketpair: ", std::strerror(errno)));
    }
    ours = Keep(ends[0]);
    theirs = Keep(ends[1]);
    return absl::OkStatus();
  }
  // `fd` is no longer closed here.
  int Release(int fd) {
    for (int& kept : fds_) {
      if (kept == fd) kept = -1;
    }
    return fd;
  }

 private:
  int Keep(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  std::vector<int> fds_;
};

}  // namespace

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

absl::StatusOr<kj::Own<ChildProcess>> ChildProcess::Launch(kj::LowLevelAsyncIoProvider& io,
                                                           kj::UnixEventPort& events,
                                                           std::shared_ptr<const ModuleTemplate> module,
                                                           ModuleTemplate::JobKind kind,
                                                           const ChildLimits& limits,
                                                           int staging_fd,
                                                           std::string_view channel_preface) {
  using template_protocol::LaunchDescriptor;
  Descriptors made;
  ModuleTemplate::LaunchDescriptors theirs;
  int stdin_write, stdout_read, stderr_read, channel, status_read;
  for (absl::Status status :
       {made.Pipe(theirs[LaunchDescriptor::kStdin], stdin_write),
        made.Pipe(stdout_read, theirs[LaunchDescriptor::kStdout]),
        made.Pipe(stderr_read, theirs[LaunchDescriptor::kStderr]),
        made.SocketPair(channel, theirs[LaunchDescriptor::kChannel]),
        made.Pipe(status_read, theirs[LaunchDescriptor::kStatus])}) {
    if (!status.ok()) return status;
  }
  ssize_t preface_sent = 0;
  if (!channel_preface.empty()) {
    preface_sent = send(channel, channel_preface.data(), channel_preface.size(), MSG_DONTWAIT);
    if (preface_sent < 0) preface_sent = 0;  // full, or too big at once: the caller sends it all
  }
  absl::StatusOr<int> pidfd = module->Launch(kind, limits.memory_bytes, theirs, staging_fd);
  if (!pidfd.ok()) return pidfd.status();

  kj::Own<ChildProcess> child(
      new ChildProcess(events, std::move(module), *pidfd, made.Release(status_read)),
      kj::_::HeapDisposer<ChildProcess>::instance);
  child->preface_sent_ = static_cast<size_t>(preface_sent);
  fcntl(stdout_read, F_SETFL, O_NONBLOCK);
  fcntl(stderr_read, F_SETFL, O_NONBLOCK);
  fcntl(status_read, F_SETFL, O_NONBLOCK);
  child->stdout_ = kj::heap<ChildOutput>(events, made.Release(stdout_read));
  child->stderr_ = kj::heap<ChildOutput>(events, made.Release(stderr_read));
  child->stdin_ = io.wrapOutputFd(made.Release(stdin_write),
                                  kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  child->channel_ = io.wrapSocketFd(made.Release(channel),
                                    kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
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
    ssize_t got;
    while ((got = read(status_.get(), &status, sizeof status)) < 0 && errno == EINTR) {
    }
    return got == sizeof status ? status : SIGKILL;
  });
}

void ChildProcess::Kill() {
  if (ended_) return;
  // The shim kills the job and everything it started, then reports and exits.
  syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGTERM, nullptr, 0);
}

}  // namespace rexec
