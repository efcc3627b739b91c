#include "runtime/sandbox/sandbox_entry.h"

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

#include <algorithm>
#include <cerrno>

#include "core/exit_report.h"
#include "core/fresh_child.h"
#include "runtime/sandbox/job_file_copy.h"
#include "runtime/sandbox/job_filesystem.h"

namespace rexec::sandbox_entry {
namespace {

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

// What SIGTERM to a shim or an init kills: the shim's init, or init's job.
volatile pid_t child_to_stop = 0;

// From outside the namespace only (si_pid is 0 then): the job signalling its init, which
// ignores signals without a handler, must not turn into killing itself.
void KillChildToStop(int, siginfo_t* info, void*) {
  if (getpid() != 1 || info->si_pid == 0) kill(child_to_stop, SIGKILL);
}

// Outside the job's namespaces: waits for the namespace's init and passes on the job's wait
// status (reported by init on `job_status`), as described at StartJobTree.
[[noreturn]] void RunShim(pid_t init, int job_status, int status_fd) {
  CloseDescriptorsBut({job_status, status_fd});
  StopChildOnTerm(init);
  int status = 0;
  ssize_t got = read(job_status, &status, sizeof status);
  close(job_status);  // taken: init ends now (RunJobInit)
  int init_status = 0;
  while (waitpid(init, &init_status, 0) < 0) {
    if (errno != EINTR) _exit(126);
  }
  // Without a report, init itself failed (setting up the sandbox) or was killed.
  if (got != sizeof status) status = init_status;
  if (status_fd < 0) EndLike(status);
  _exit(write(status_fd, &status, sizeof status) == sizeof status ? 0 : 126);
}

// After the job: ends every process it left in the namespace and waits for them, so that
// nothing changes /work while its outputs are copied out.
void EndLeftovers() {
  kill(-1, SIGKILL);  // from init: every other process of the namespace
  while (waitpid(-1, nullptr, 0) >= 0 || errno == EINTR) {
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

}  // namespace

void StopChildOnTerm(pid_t child) {
  child_to_stop = child;
  struct sigaction stop {};
  stop.sa_sigaction = &KillChildToStop;
  stop.sa_flags = SA_SIGINFO;
  sigaction(SIGTERM, &stop, nullptr);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_UNBLOCK, &term, nullptr);
}

void FailInChild(const char* step) {
  const char* reason = strerrordesc_np(errno);
  for (const char* part : {"rexec sandbox: cannot ", step, ": ", reason ? reason : "?", "\n"}) {
    if (write(2, part, strlen(part)) < 0) break;
  }
  _exit(126);
}

void JoinSharedNamespaces(int user_namespace, int network_namespace) {
  const pid_t parent = getppid();
  if (setns(user_namespace, CLONE_NEWUSER) != 0) FailInChild("join the user namespace");
  // Gaining capabilities (over the namespace) clears the parent-death signal: arm it again.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);
  if (setns(network_namespace, CLONE_NEWNET) != 0) FailInChild("join the network namespace");
}

void TakeJobIds() {
  // Files made while building the job's view must be owned by an id the namespace maps.
  if (setgroups(0, nullptr) != 0 && errno != EPERM) FailInChild("clear supplementary groups");
  if (setresgid(kJobGid, kJobGid, kJobGid) != 0) FailInChild("set the group id");
  if (setresuid(kJobUid, kJobUid, kJobUid) != 0) FailInChild("set the user id");
}

[[noreturn]] void RunJobInit(pid_t job, int job_status, int staging_fd) {
  CloseDescriptorsBut({job_status, staging_fd});
  StopChildOnTerm(job);
  const JobEnd end = AwaitJobEnd(job);
  if (staging_fd >= 0) {
    EndLeftovers();
    int work_fd = open("/work", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (work_fd >= 0) CopyOutputsOut(staging_fd, work_fd);
  }
  // Init's exit kills whatever is left in the namespace, the job itself after a report.
  _exit(PassOnStatus(job_status, end.wait_status) ? 0 : 126);
}

namespace {

// Init, pid 1 of namespaces just made, before its job: takes the job's ids, checks that its
// parent is still there once it dies with it (`parent`: a descriptor that polls as anything but
// writable once the parent is gone), and builds the job's filesystem.
void PrepareInit(View view, const SandboxOptions& options, int parent) {
  TakeJobIds();
  // Init may come to hold the staging directory's descriptor, a way out of the sandbox's view:
  // the job must not reach it through /proc or ptrace, which a process that is not dumpable
  // prevents.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // After the change of ids, which clears it: init dies with its parent, the namespace with it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  pollfd parent_state{parent, POLLIN | POLLOUT, 0};
  if (poll(&parent_state, 1, 0) < 0 || (parent_state.revents & ~POLLOUT) != 0) _exit(126);
  if (view == View::kBuildWhole) {
    if (const char* failed = BuildSystemView()) FailInChild(failed);
  }
  if (const char* failed = MountJobScratch({options.scratch_bytes, kJobUid, kJobGid})) {
    FailInChild(failed);
  }
  sethostname("rexec", 5);
}

}  // namespace

void MoveInputsIn(int staging_fd) {
  const int work_fd = open("/work", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (work_fd < 0) FailInChild("open /work");
  if (const char* failed = CopyInputsIn(staging_fd, work_fd)) FailInChild(failed);
  close(work_fd);
}

void HardenJob(const SandboxOptions& options, const SyscallFilter& filter) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // ForkJobInit's child blocked SIGTERM
  if (!DropCapabilities()) FailInChild("drop capabilities");
  if (!SetLimit(RLIMIT_NPROC, options.max_processes) ||
      !SetLimit(RLIMIT_NOFILE, options.max_open_files) ||
      !SetLimit(RLIMIT_FSIZE, options.max_file_bytes) || !SetLimit(RLIMIT_CORE, 0)) {
    FailInChild("set resource limits");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) FailInChild("set no_new_privs");
  // The change of ids made the process undumpable, which hides its own /proc/self/mem and more
  // from it; a native program is dumpable (no core is written: RLIMIT_CORE is 0).
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  if (!filter.Install()) FailInChild("install the seccomp filter");
}

void StartJobTree(View view, const SandboxOptions& options, const SyscallFilter& filter,
                  int status_fd, int staging_fd) {
  if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
    FailInChild("create namespaces");
  }
  int job_status[2];
  if (pipe2(job_status, O_CLOEXEC) != 0) FailInChild("create a pipe");
  const pid_t init = fork();
  if (init < 0) FailInChild("fork the job's init");
  if (init > 0) {
    close(job_status[1]);
    RunShim(init, job_status[0], status_fd);
  }
  close(job_status[0]);
  if (status_fd >= 0) close(status_fd);
  // The status pipe is the shim's: it polls as an error once the shim is gone.
  PrepareInit(view, options, job_status[1]);
  if (staging_fd >= 0) MoveInputsIn(staging_fd);
  const pid_t job = fork();
  if (job < 0) FailInChild("fork the job");
  if (job > 0) RunJobInit(job, job_status[1], staging_fd);
  close(job_status[1]);
  if (staging_fd >= 0) close(staging_fd);
  HardenJob(options, filter);
}

pid_t ForkJobInit() {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigset_t before;
  sigprocmask(SIG_BLOCK, &term, &before);
  const long pid = syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                                          SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid != 0) sigprocmask(SIG_SETMASK, &before, nullptr);
  return static_cast<pid_t>(pid);
}

void PrepareJobInit(const SandboxOptions& options, int parent_pidfd) {
  // A pidfd polls readable once its process has ended.
  PrepareInit(View::kScratchOnly, options, parent_pidfd);
  close(parent_pidfd);
}

}  // namespace rexec::sandbox_entry
