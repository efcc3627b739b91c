#include "runtime/jit/compile_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/jit/compile_protocol.h"

namespace rexec {
namespace {

using compile_protocol::FrameKind;

constexpr auto kStartDeadline = std::chrono::seconds(30);
constexpr uint64_t kMaxMessageBytes = 64 << 10;
// Code generation of a large module needs a few GB at most; more is a hostile input.
constexpr rlim_t kServerAddressSpace = 8ull << 30;

// In the forked child, before execve: async-signal-safe calls only. The server's binary is
// opened beforehand and executed by descriptor: inside the sandbox its path may not be visible.
[[noreturn]] void ExecServer(int channel, int null_fd, int binary, pid_t parent,
                             const Sandbox* sandbox, char* const* argv) {
  if (dup2(channel, 0) < 0 || dup2(channel, 1) < 0 || dup2(null_fd, 2) < 0 ||
      dup2(binary, 3) < 0) {
    _exit(127);
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the worker died before PDEATHSIG was armed
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (sandbox != nullptr) sandbox->EnterInChild();
  close_range(4, ~0U, 0);
  fcntl(3, F_SETFD, FD_CLOEXEC);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  rlimit address_space{kServerAddressSpace, kServerAddressSpace};
  setrlimit(RLIMIT_AS, &address_space);
  char* const no_environment[] = {nullptr};
  syscall(SYS_execveat, 3, "", argv, no_environment, AT_EMPTY_PATH);
  _exit(127);
}

std::string DescribeWaitStatus(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("crashed with signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)),
                        ")");
  }
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  return "ended";
}

}  // namespace

CompileProcess::CompileProcess(CompileProcessOptions options) : options_(std::move(options)) {}

CompileProcess::~CompileProcess() { Stop(); }

absl::Status CompileProcess::Start() {
  int channel[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) {
    return absl::UnavailableError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int binary = open(options_.server_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || binary < 0) {
    int error = errno;
    for (int fd : {channel[0], channel[1], null_fd, binary}) {
      if (fd >= 0) close(fd);
    }
    return absl::UnavailableError(absl::StrCat("the compile server ", options_.server_path,
                                               " did not start (", strerror(error), ")"));
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(options_.server_path.c_str()));
  for (const std::string& arg : options_.server_args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    ExecServer(channel[1], null_fd, binary, parent, options_.sandbox, argv.data());
  }
  int fork_error = errno;
  close(channel[1]);
  close(null_fd);
  close(binary);
  if (pid < 0) {
    close(channel[0]);
    return absl::UnavailableError(absl::StrCat("cannot start the compile server: fork: ",
                                               strerror(fork_error)));
  }
  pid_ = pid;
  channel_ = channel[0];

  absl::StatusOr<compile_protocol::Frame> ready = compile_protocol::ReadFrame(
      channel_, kMaxMessageBytes, std::chrono::steady_clock::now() + kStartDeadline);
  if (!ready.ok() || ready->kind != FrameKind::kReady) {
    std::string said = ready.ok() ? ready->payload : std::string(ready.status().message());
    std::string ended = Stop();
    return absl::UnavailableError(absl::StrCat("the compile server ", options_.server_path,
                                               " did not start (", said, "; it ", ended, ")"));
  }
  if (ready->payload != options_.expected_fingerprint) {
    Stop();
    return absl::UnavailableError(absl::StrCat(
        "the compile server ", options_.server_path, " generates code for '", ready->payload,
        "', the worker for '", options_.expected_fingerprint, "': install matching builds"));
  }
  return absl::OkStatus();
}

std::string CompileProcess::Stop() {
  if (pid_ < 0) return "was not running";
  close(channel_);
  channel_ = -1;
  // A server that reported a fatal error is exiting already; give it a moment to be reaped with
  // its own status before killing it.
  int status = 0;
  pid_t reaped = 0;
  for (int attempt = 0; attempt < 20 && reaped == 0; ++attempt) {
    reaped = waitpid(pid_, &status, WNOHANG);
    if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (reaped == 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  return DescribeWaitStatus(status);
}

absl::StatusOr<std::string> CompileProcess::Compile(std::string_view bitcode) {
  if (pid_ < 0) {
    if (absl::Status started = Start(); !started.ok()) return started;
  }
  auto deadline = std::chrono::steady_clock::now() + options_.deadline;
  absl::Status sent =
      compile_protocol::WriteFrame(channel_, FrameKind::kBitcode, bitcode, deadline);
  absl::StatusOr<compile_protocol::Frame> reply =
      sent.ok() ? compile_protocol::ReadFrame(channel_, options_.max_object_bytes, deadline)
                : absl::StatusOr<compile_protocol::Frame>(sent);
  if (reply.ok() && reply->kind == FrameKind::kObject) return std::move(reply->payload);
  if (reply.ok() && reply->kind == FrameKind::kError) {
    // A fatal error ends the server after its report; a plain compile error does not.
    if (reply->payload.rfind("LLVM ERROR: ", 0) == 0) Stop();
    return absl::InvalidArgumentError(reply->payload);
  }
  // Anything else leaves the server in an unknown state: it goes, and this compile fails.
  std::string ended = Stop();
  if (absl::IsDeadlineExceeded(reply.status())) {
    return absl::DeadlineExceededError(absl::StrCat(
        "code generation took longer than ", options_.deadline.count() / 1000, " s; stopped"));
  }
  if (reply.ok()) {
    return absl::InternalError("the compile server broke its protocol; it was replaced");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("LLVM ", ended, " while reading or compiling this module's bitcode (",
                   reply.status().message(), ")"));
}

}  // namespace rexec
