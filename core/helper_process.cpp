#include "core/helper_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

[[noreturn]] void ExecHelper(const HelperProcessSpec& spec, int binary, pid_t parent,
                             char* const* argv) {
  // Copies above every place the helper's descriptors (and its binary's) go, so that placing
  // one never overwrites another still to be placed.
  constexpr int kMaxDescriptors = 16;
  const int count = static_cast<int>(spec.descriptors.size());
  if (count > kMaxDescriptors) _exit(127);
  int staged[kMaxDescriptors];
  for (int i = 0; i < count; ++i) {
    staged[i] = fcntl(spec.descriptors[i], F_DUPFD, count + 1);
    if (staged[i] < 0) _exit(127);
  }
  const int staged_binary = fcntl(binary, F_DUPFD_CLOEXEC, count + 1);
  if (staged_binary < 0) _exit(127);
  for (int i = 0; i < count; ++i) {
    if (dup2(staged[i], i) < 0) _exit(127);
  }
  if (dup3(staged_binary, count, O_CLOEXEC) < 0) _exit(127);

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
  if (spec.in_child != nullptr) spec.in_child(spec.context);  // may need the worker's descriptors
  close_range(count + 1, ~0U, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (spec.address_space_bytes != 0) {
    rlimit address_space{spec.address_space_bytes, spec.address_space_bytes};
    setrlimit(RLIMIT_AS, &address_space);
  }
  char* const no_environment[] = {nullptr};
  syscall(SYS_execveat, count, "", argv, no_environment, AT_EMPTY_PATH);
  _exit(127);
}

}  // namespace

absl::StatusOr<pid_t> StartHelperProcess(const HelperProcessSpec& spec) {
  int binary = open(spec.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (binary < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", spec.path, ": ", strerror(errno)));
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(spec.path.c_str()));
  for (const std::string& arg : spec.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecHelper(spec, binary, parent, argv.data());
  const int fork_error = errno;
  close(binary);
  if (pid < 0) return absl::UnavailableError(absl::StrCat("fork: ", strerror(fork_error)));
  return pid;
}

}  // namespace rexec
