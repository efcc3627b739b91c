#include "tests/integration/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

extern char** environ;

namespace rexec::testing {
namespace {

using Clock = std::chrono::steady_clock;

// After the child has exited, how long we keep reading pipes that a grandchild it left behind
// may still hold open.
constexpr milliseconds kDrainGrace{500};

std::vector<std::string> ChildEnvironment(const ProcessOptions& options) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) env.emplace_back(*entry);
  for (const auto& [name, value] : options.env) {
    std::string prefix = name + "=";
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(prefix); });
    if (value) env.push_back(prefix + *value);
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// In the child: tells the parent why exec failed.
[[noreturn]] void ExitWithError(int error_pipe, int error) {
  (void)!write(error_pipe, &error, sizeof error);
  _exit(127);
}

// In the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void ExecChild(char** argv, char** envp, const ProcessOptions& options, int stdin_read,
                            int stdout_write, int stderr_write, int error_pipe) {
  setpgid(0, 0);  // its own group, so a timeout can stop everything it started
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  auto open_output = [&](const std::string& file, int pipe_fd) {
    if (file.empty()) return pipe_fd;
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) ExitWithError(error_pipe, errno);
    return fd;
  };
  int out = open_output(options.stdout_file, stdout_write);
  int err = open_output(options.stderr_file, stderr_write);
  if (!options.stdin_file.empty()) {
    stdin_read = open(options.stdin_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (stdin_read < 0) ExitWithError(error_pipe, errno);
  }
  if (dup2(stdin_read, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
    ExitWithError(error_pipe, errno);
  }
  if (options.max_open_files != 0) {
    rlimit limit{options.max_open_files, options.max_open_files};
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) ExitWithError(error_pipe, errno);
  }
  if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) {
    ExitWithError(error_pipe, errno);
  }
  execve(argv[0], argv, envp);
  ExitWithError(error_pipe, errno);
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const ProcessResult& result) {
  if (result.timed_out) {
    out << "timed out and was killed";
  } else if (result.exited) {
    out << "exited with code " << result.exit_code;
  } else {
    out << "killed by signal " << result.signal;
  }
  return out << " after " << result.elapsed.count() << " ms\n--- stdout ---\n"
             << result.stdout_text << "\n--- stderr ---\n"
             << result.stderr_text << "\n--------------\n";
}

Subprocess::Subprocess(const std::vector<std::string>& argv, ProcessOptions options)
    : stdin_data_(std::move(options.stdin_data)),
      close_stdin_when_written_(!options.keep_stdin_open) {
  // A child that exits before reading all its stdin must not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args = argv;
  std::vector<std::string> env = ChildEnvironment(options);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);

  int in[2], out[2], err[2], exec_error[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      pipe2(exec_error, O_CLOEXEC) != 0) {
    error_ = std::string("pipe: ") + strerror(errno);
    return;
  }
  started_at_ = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    ExecChild(c_args.data(), c_env.data(), options, in[0], out[1], err[1], exec_error[1]);
  }
  for (int fd : {in[0], out[1], err[1], exec_error[1]}) close(fd);
  if (pid < 0) {
    error_ = std::string("fork: ") + strerror(errno);
    for (int fd : {in[1], out[0], err[0], exec_error[0]}) close(fd);
    return;
  }
  pid_ = pid;
  setpgid(pid_, pid_);  // also here, so that it holds before we could signal the group

  int child_errno = 0;
  ssize_t n;
  do {
    n = read(exec_error[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(exec_error[0]);
  if (n == sizeof child_errno) {
    error_ = "cannot start " + argv[0] + ": " + strerror(child_errno);
  }

  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  if (stdin_data_.empty() && close_stdin_when_written_) CloseFd(stdin_fd_);
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !wait_status_) {
    kill(pid_, SIGKILL);
    Reap(/*block=*/true);
  }
  CloseAll();
}

void Subprocess::CloseAll() {
  CloseFd(stdin_fd_);
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
}

const std::string& Subprocess::output(Stream stream) const {
  return stream == Stream::kStdout ? stdout_text_ : stderr_text_;
}

void Subprocess::WriteStdin(std::string_view data) { stdin_data_.append(data); }

void Subprocess::CloseStdin() {
  close_stdin_when_written_ = true;
  if (stdin_written_ == stdin_data_.size()) CloseFd(stdin_fd_);
}

void Subprocess::Signal(int signal) {
  if (pid_ > 0 && !wait_status_) kill(pid_, signal);
}

bool Subprocess::Reap(bool block) {
  if (wait_status_) return true;
  if (pid_ <= 0) return false;
  // Look first without reaping: while the child is an unreaped zombie its pid, and so its
  // process group id, cannot be reused, and it is safe to stop whatever it left running.
  siginfo_t info{};
  int r;
  do {
    r = waitid(P_PID, pid_, &info, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
  } while (r < 0 && errno == EINTR);
  if (r != 0 || info.si_pid != pid_) return false;
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  wait_status_ = status;
  return true;
}

bool Subprocess::Exited() { return Reap(/*block=*/false); }

void Subprocess::Pump(milliseconds timeout) {
  pollfd fds[3];
  int count = 0;
  if (stdin_fd_ >= 0 && stdin_written_ < stdin_data_.size()) {
    fds[count++] = {stdin_fd_, POLLOUT, 0};
  }
  if (stdout_fd_ >= 0) fds[count++] = {stdout_fd_, POLLIN, 0};
  if (stderr_fd_ >= 0) fds[count++] = {stderr_fd_, POLLIN, 0};
  if (count == 0) {
    std::this_thread::sleep_for(std::min(timeout, milliseconds(10)));
    return;
  }
  if (poll(fds, count, static_cast<int>(timeout.count())) <= 0) return;
  for (int i = 0; i < count; ++i) {
    if (fds[i].revents == 0) continue;
    if (fds[i].fd == stdin_fd_) {
      ssize_t n = write(stdin_fd_, stdin_data_.data() + stdin_written_,
                        std::min<size_t>(stdin_data_.size() - stdin_written_, 1 << 16));
      if (n > 0) stdin_written_ += n;
      bool all_written = stdin_written_ == stdin_data_.size();
      if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
          (all_written && close_stdin_when_written_)) {
        CloseFd(stdin_fd_);
      }
      continue;
    }
    int& fd = fds[i].fd == stdout_fd_ ? stdout_fd_ : stderr_fd_;
    std::string& text = fds[i].fd == stdout_fd_ ? stdout_text_ : stderr_text_;
    char buffer[1 << 16];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, n);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      CloseFd(fd);
    }
  }
}

bool Subprocess::WaitForOutput(Stream stream, std::string_view text, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  const std::string& received = output(stream);
  while (received.find(text) == std::string::npos) {
    auto now = Clock::now();
    if (now >= deadline) return false;
    bool pipe_open = (stream == Stream::kStdout ? stdout_fd_ : stderr_fd_) >= 0;
    if (!pipe_open && Exited()) return false;
    Pump(std::min(std::chrono::duration_cast<milliseconds>(deadline - now), milliseconds(50)));
  }
  return true;
}

ProcessResult Subprocess::Wait(milliseconds timeout) {
  ProcessResult result;
  if (pid_ <= 0) {
    result.stderr_text = error_;
    return result;
  }
  auto deadline = Clock::now() + timeout;
  while (!Exited()) {
    auto now = Clock::now();
    if (now >= deadline) {
      result.timed_out = true;
      kill(pid_, SIGKILL);
      Reap(/*block=*/true);
      break;
    }
    Pump(std::min(std::chrono::duration_cast<milliseconds>(deadline - now), milliseconds(20)));
  }
  result.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - started_at_);
  CloseFd(stdin_fd_);
  auto drain_deadline = Clock::now() + kDrainGrace;
  while ((stdout_fd_ >= 0 || stderr_fd_ >= 0) && Clock::now() < drain_deadline) {
    Pump(milliseconds(20));
  }
  CloseAll();

  int status = *wait_status_;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  result.stdout_text = std::move(stdout_text_);
  result.stderr_text = std::move(stderr_text_) + error_;
  return result;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  Subprocess process(argv, options);
  return process.Wait(options.timeout);
}

}  // namespace rexec::testing
