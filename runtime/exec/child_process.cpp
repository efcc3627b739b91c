#include "runtime/exec/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
};

absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  return Pipe{fds[0], fds[1]};
}

void ClosePipe(const Pipe& pipe) {
  if (pipe.read_end >= 0) close(pipe.read_end);
  if (pipe.write_end >= 0) close(pipe.write_end);
}

// Runs in the child between fork() and the body: only simple system calls, no locks taken.
void SetUpChild(pid_t parent, const Pipe& in, const Pipe& out, const Pipe& err,
                const Sandbox* sandbox, const ChildLimits& limits, int extra_fd) {
  if (dup2(in.read_end, 0) < 0 || dup2(out.write_end, 1) < 0 || dup2(err.write_end, 2) < 0) {
    _exit(127);
  }
  if (extra_fd >= 0 && dup2(extra_fd, 3) < 0) _exit(127);
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the worker died before PDEATHSIG was armed

  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    sigaction(signal_number, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  if (sandbox != nullptr) sandbox->EnterInChild();  // needs its own descriptors until here
  close_range(extra_fd >= 0 ? 4 : 3, ~0U, 0);
  if (limits.memory_bytes != 0) {
    rlimit limit{limits.memory_bytes, limits.memory_bytes};
    setrlimit(RLIMIT_DATA, &limit);
  }
  // A terminal would make stdout line-buffered; a pipe would not. Programs that print, sleep
  // and print again must show the first line while they run.
  setvbuf(stdout, nullptr, _IOLBF, 0);
}

// The child runs on the worker's stack: an exception escaping user code must not unwind into the
// worker's frames (kj would catch it and go on serving the worker's connections in the child).
// noexcept makes it std::terminate, exactly as in a native program whose main() throws.
void RunBody(kj::FunctionParam<void()>& body) noexcept { body(); }

}  // namespace

ChildOutput::ChildOutput(kj::UnixEventPort& events, int fd)
    : fd(fd), observer(events, fd, kj::UnixEventPort::FdObserver::OBSERVE_READ) {}

ChildProcess::ChildProcess(kj::UnixEventPort& events, pid_t pid, int pidfd)
    : pid_(pid),
      pidfd_(pidfd),
      exit_observer_(events, pidfd, kj::UnixEventPort::FdObserver::OBSERVE_READ) {}

ChildProcess::~ChildProcess() noexcept(false) {
  if (!reaped_) {
    KillGroup();
    int status;
    waitpid(pid_, &status, 0);  // SIGKILL makes this prompt
  }
}

absl::StatusOr<kj::Own<ChildProcess>> ChildProcess::Spawn(kj::LowLevelAsyncIoProvider& io,
                                                          kj::UnixEventPort& events,
                                                          const Sandbox* sandbox,
                                                          const ChildLimits& limits,
                                                          kj::FunctionParam<void()> body,
                                                          int extra_fd) {
  absl::StatusOr<Pipe> in = MakePipe();
  if (!in.ok()) return in.status();
  absl::StatusOr<Pipe> out = MakePipe();
  if (!out.ok()) {
    ClosePipe(*in);
    return out.status();
  }
  absl::StatusOr<Pipe> err = MakePipe();
  if (!err.ok()) {
    ClosePipe(*in);
    ClosePipe(*out);
    return err.status();
  }

  std::fflush(nullptr);  // or the child would flush the worker's pending stdio output too
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    ClosePipe(*in);
    ClosePipe(*out);
    ClosePipe(*err);
    return absl::ResourceExhaustedError(absl::StrCat("fork: ", std::strerror(error)));
  }
  if (pid == 0) {
    SetUpChild(parent, *in, *out, *err, sandbox, limits, extra_fd);
    RunBody(body);
    _exit(127);  // unreachable: the body ends the process
  }

  close(in->read_end);
  close(out->write_end);
  close(err->write_end);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int error = errno;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(in->write_end);
    close(out->read_end);
    close(err->read_end);
    return absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(error)));
  }
  setpgid(pid, pid);  // also done by the child; whichever runs first wins the race

  kj::Own<ChildProcess> child(new ChildProcess(events, pid, pidfd),
                             kj::_::HeapDisposer<ChildProcess>::instance);
  fcntl(out->read_end, F_SETFL, O_NONBLOCK);
  fcntl(err->read_end, F_SETFL, O_NONBLOCK);
  child->stdout_ = kj::heap<ChildOutput>(events, out->read_end);
  child->stderr_ = kj::heap<ChildOutput>(events, err->read_end);
  child->stdin_ = io.wrapOutputFd(in->write_end, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  return child;
}

kj::Maybe<kj::AsyncOutputStream&> ChildProcess::input() {
  KJ_IF_MAYBE(stream, stdin_) { return **stream; }
  return nullptr;
}

kj::Promise<int> ChildProcess::OnExit() {
  return exit_observer_.whenBecomesReadable().then([this]() -> int {
    // The child is a zombie now, so its pid (and group id) cannot have been reused: end whatever
    // it left running in its group, which could otherwise hold the output pipes open forever.
    KillGroup();
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  });
}

void ChildProcess::KillGroup() {
  if (reaped_) return;  // the pid may already belong to someone else
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
}

}  // namespace rexec
