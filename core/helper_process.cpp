#include "core/helper_process.h"

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
#include "core/fresh_child.h"

namespace rexec {
namespace {

// `descriptors` are the helper's, stand-ins replaced, followed by its binary's.
[[noreturn]] void ExecHelper(const HelperProcessSpec& spec, const std::vector<int>& descriptors,
                             pid_t parent, char* const* argv) {
  if (!PlaceDescriptors(descriptors)) _exit(127);
  const int binary = static_cast<int>(descriptors.size()) - 1;
  if (fcntl(binary, F_SETFD, FD_CLOEXEC) != 0) _exit(127);

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the worker died before PDEATHSIG was armed
  ResetSignalHandling();
  if (spec.in_child != nullptr) spec.in_child(spec.context);  // may need the worker's descriptors
  close_range(binary + 1, ~0U, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (spec.address_space_bytes != 0) {
    rlimit address_space{spec.address_space_bytes, spec.address_space_bytes};
    setrlimit(RLIMIT_AS, &address_space);
  }
  char bind_now[] = "LD_BIND_NOW=1";
  char* const own_environment[] = {spec.bind_symbols_at_start ? bind_now : nullptr, nullptr};
  syscall(SYS_execveat, binary, "", argv, spec.keep_environment ? environ : own_environment,
          AT_EMPTY_PATH);
  _exit(127);
}

}  // namespace

absl::StatusOr<HelperProcess> StartHelperProcess(const HelperProcessSpec& spec) {
  // Made here and closed on the way out, except the worker's end of the channel on success.
  int channel[2] = {-1, -1};
  int null_fd = -1;
  int binary = -1;
  auto close_all = [&] {
    for (int fd : {channel[0], channel[1], null_fd, binary}) {
      if (fd >= 0) close(fd);
    }
  };
  auto fail = [&](const char* what) {
    absl::Status failed = absl::UnavailableError(absl::StrCat(what, ": ", strerror(errno)));
    close_all();
    return failed;
  };
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) return fail("socketpair");
  null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return fail("/dev/null");
  binary = open(spec.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (binary < 0) return fail(spec.path.c_str());

  std::vector<int> descriptors;
  for (int fd : spec.descriptors) {
    descriptors.push_back(fd == HelperProcessSpec::kChannel ? channel[1]
                          : fd == HelperProcessSpec::kDevNull ? null_fd
                                                              : fd);
  }
  descriptors.push_back(binary);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(spec.path.c_str()));
  for (const std::string& arg : spec.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecHelper(spec, descriptors, parent, argv.data());
  if (pid < 0) return fail("fork");
  HelperProcess started{pid, channel[0]};
  channel[0] = -1;
  close_all();
  return started;
}

int AwaitHelperExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

void ReapHelperInBackground(pid_t pid) {
  std::thread([pid] { AwaitHelperExit(pid); }).detach();
}

std::string DescribeHelperExit(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("crashed with signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)),
                        ")");
  }
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  return "ended";
}

}  // namespace rexec
