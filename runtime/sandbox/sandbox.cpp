#include "runtime/sandbox/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/sandbox/job_filesystem.h"

namespace rexec {
namespace {

// The namespaces' descriptors are moved this high so that a child's dup2() onto 0-3 can never
// overwrite one before it is used.
constexpr int kFirstNamespaceFd = 64;
constexpr uid_t kNobody = 65534;

[[noreturn]] void FailInChild(const char* step) {
  const char* reason = strerrordesc_np(errno);
  for (const char* part : {"rexec sandbox: cannot ", step, ": ", reason ? reason : "?", "\n"}) {
    if (write(2, part, strlen(part)) < 0) break;
  }
  _exit(126);
}

// Ends this process the way a process with wait status `status` ended.
[[noreturn]] void EndLike(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  const int signal_number = WTERMSIG(status);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);  // the job's own limit already decided about its core
  signal(signal_number, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal_number);
  sigprocmask(SIG_UNBLOCK, &only, nullptr);
  kill(getpid(), signal_number);
  _exit(128 + signal_number);
}

void CloseAllBut(int keep) {
  if (keep > 0) close_range(0, keep - 1, 0);
  close_range(keep + 1, ~0U, 0);
}

// Outside the job's namespaces, as the worker's child: waits for the namespace's init and ends
// the way the job ended (reported by init on `job_status`), so the worker sees the job's own
// status. Init dies with this process.
[[noreturn]] void RunShim(pid_t init, int job_status) {
  CloseAllBut(job_status);
  int status = 0;
  ssize_t got = read(job_status, &status, sizeof status);
  int init_status = 0;
  while (waitpid(init, &init_status, 0) < 0) {
    if (errno != EINTR) _exit(126);
  }
  // Without a report, init itself failed (setting up the sandbox) or was killed.
  EndLike(got == sizeof status ? status : init_status);
}

// Pid 1 of the job's namespace. The job cannot be pid 1 itself: init ignores every signal it
// has no handler for, its own abort() included. Reaps orphans, reports the job's wait status
// and exits with it, which ends every other process in the namespace.
[[noreturn]] void RunInit(pid_t job, int job_status) {
  CloseAllBut(job_status);
  while (true) {
    int status = 0;
    pid_t ended = waitpid(-1, &status, 0);
    if (ended == job) {
      if (write(job_status, &status, sizeof status) != sizeof status) _exit(126);
      _exit(0);
    }
    if (ended < 0 && errno != EINTR) _exit(126);
  }
}

bool DropCapabilities() {
  for (int capability = 0; capability <= 63; ++capability) {
    if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL) return false;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return false;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  return syscall(SYS_capset, &header, none) == 0;
}

bool SetLimit(int resource, rlim_t value) {
  rlimit limit{value, value};
  return setrlimit(resource, &limit) == 0;
}

absl::Status WriteProcFile(pid_t pid, const char* name, const std::string& contents) {
  std::string path = absl::StrCat("/proc/", pid, "/", name);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, contents.data(), contents.size()) != ssize_t(contents.size())) {
    int error = errno;
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("write ", path, ": ", strerror(error)));
  }
  close(fd);
  return absl::OkStatus();
}

absl::StatusOr<int> OpenNamespace(pid_t pid, const char* kind) {
  std::string path = absl::StrCat("/proc/", pid, "/ns/", kind);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("open ", path, ": ", strerror(errno)));
  int high = fcntl(fd, F_DUPFD_CLOEXEC, kFirstNamespaceFd);
  close(fd);
  if (high < 0) return absl::UnavailableError(absl::StrCat("fcntl: ", strerror(errno)));
  return high;
}

// A short-lived process that creates the user and network namespaces every job will join; their
// descriptors keep them alive after it exits.
absl::Status CreateSharedNamespaces(uid_t host_uid, gid_t host_gid, int& user_namespace,
                                    int& network_namespace) {
  int ready[2], release[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return absl::UnavailableError("pipe");
  if (pipe2(release, O_CLOEXEC) != 0) {
    close(ready[0]);
    close(ready[1]);
    return absl::UnavailableError("pipe");
  }
  const pid_t holder = fork();
  if (holder == 0) {
    close(ready[0]);
    close(release[1]);  // or its read would never see the end
    int error = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 0 : errno;
    if (write(ready[1], &error, sizeof error) != sizeof error || error != 0) _exit(1);
    char byte;
    while (read(release[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  absl::Status status;
  int error = 0;
  if (holder < 0) {
    status = absl::UnavailableError(absl::StrCat("fork: ", strerror(errno)));
  } else if (read(ready[0], &error, sizeof error) != sizeof error || error != 0) {
    status = absl::UnavailableError(
        absl::StrCat("cannot create a user namespace: ", strerror(error ? error : EPIPE)));
  } else {
    // A privileged worker may map any id; an unprivileged one only its own, and must give up
    // setgroups() for it.
    if (geteuid() != 0) status = WriteProcFile(holder, "setgroups", "deny");
    if (status.ok()) {
      status = WriteProcFile(holder, "uid_map", absl::StrCat(kJobUid, " ", host_uid, " 1\n"));
    }
    if (status.ok()) {
      status = WriteProcFile(holder, "gid_map", absl::StrCat(kJobGid, " ", host_gid, " 1\n"));
    }
    if (status.ok()) {
      absl::StatusOr<int> user = OpenNamespace(holder, "user");
      absl::StatusOr<int> network = OpenNamespace(holder, "net");
      if (user.ok() && network.ok()) {
        user_namespace = *user;
        network_namespace = *network;
      } else {
        status = user.ok() ? network.status() : user.status();
        if (user.ok()) close(*user);
        if (network.ok()) close(*network);
      }
    }
  }
  close(ready[0]);
  close(release[1]);
  if (holder > 0) waitpid(holder, nullptr, 0);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxOptions& options) {
  absl::StatusOr<SyscallFilter> filter = SyscallFilter::Build();
  if (!filter.ok()) return filter.status();
  std::unique_ptr<Sandbox> sandbox(new Sandbox);
  sandbox->options_ = options;
  sandbox->filter_ = *std::move(filter);
  const bool root = geteuid() == 0;
  sandbox->host_uid_ = root ? kNobody : geteuid();
  if (absl::Status created = CreateSharedNamespaces(
          sandbox->host_uid_, root ? kNobody : getegid(), sandbox->user_namespace_,
          sandbox->network_namespace_);
      !created.ok()) {
    return created;
  }

  // Prove it: an empty job, whose failure message comes back on a pipe.
  int messages[2];
  if (pipe2(messages, O_CLOEXEC) != 0) return absl::UnavailableError("pipe");
  const pid_t probe = fork();
  if (probe == 0) {
    dup2(messages[1], 2);
    sandbox->EnterInChild();
    _exit(0);
  }
  close(messages[1]);
  std::string message(512, '\0');
  ssize_t got = read(messages[0], message.data(), message.size());
  message.resize(got > 0 ? static_cast<size_t>(got) : 0);
  close(messages[0]);
  int status = 0;
  if (probe < 0 || waitpid(probe, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return absl::UnavailableError(message.empty() ? "a test job could not enter the sandbox"
                                                  : message);
  }
  return sandbox;
}

Sandbox::~Sandbox() {
  if (user_namespace_ >= 0) close(user_namespace_);
  if (network_namespace_ >= 0) close(network_namespace_);
}

void Sandbox::EnterInChild() const {
  const pid_t parent = getppid();
  if (setns(user_namespace_, CLONE_NEWUSER) != 0) FailInChild("join the user namespace");
  // Gaining capabilities (over the namespace) clears the parent-death signal: arm it again.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);
  if (setns(network_namespace_, CLONE_NEWNET) != 0) FailInChild("join the network namespace");
  if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
    FailInChild("create namespaces");
  }
  int job_status[2];
  if (pipe2(job_status, O_CLOEXEC) != 0) FailInChild("create a pipe");
  const pid_t init = fork();
  if (init < 0) FailInChild("fork the job's init");
  if (init > 0) {
    close(job_status[1]);
    RunShim(init, job_status[0]);
  }

  // Init, pid 1 of the new namespace. It takes the job's ids first: files it creates while
  // building the job's view must be owned by an id the namespace maps. (Capabilities over the
  // namespace survive: its root id is unmapped, so no change of id counts as leaving root.)
  close(job_status[0]);
  if (setgroups(0, nullptr) != 0 && errno != EPERM) FailInChild("clear supplementary groups");
  if (setresgid(kJobGid, kJobGid, kJobGid) != 0) FailInChild("set the group id");
  if (setresuid(kJobUid, kJobUid, kJobUid) != 0) FailInChild("set the user id");
  // After the change of ids, which clears it: init dies with the shim, and the namespace with it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  pollfd shim{job_status[1], POLLOUT, 0};
  if (poll(&shim, 1, 0) < 0 || (shim.revents & POLLERR) != 0) _exit(126);  // shim already gone
  if (const char* failed = EnterJobFilesystem({options_.scratch_bytes, kJobUid, kJobGid})) {
    FailInChild(failed);
  }
  sethostname("rexec", 5);
  const pid_t job = fork();
  if (job < 0) FailInChild("fork the job");
  if (job > 0) RunInit(job, job_status[1]);

  // The job.
  close(job_status[1]);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!DropCapabilities()) FailInChild("drop capabilities");
  if (!SetLimit(RLIMIT_NPROC, options_.max_processes) ||
      !SetLimit(RLIMIT_NOFILE, options_.max_open_files) ||
      !SetLimit(RLIMIT_FSIZE, options_.max_file_bytes) || !SetLimit(RLIMIT_CORE, 0)) {
    FailInChild("set resource limits");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) FailInChild("set no_new_privs");
  if (!filter_.Install()) FailInChild("install the seccomp filter");
}

}  // namespace rexec
