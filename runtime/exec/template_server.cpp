#include "runtime/exec/template_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "core/descriptor_passing.h"
#include "core/exit_report.h"
#include "core/fd_io.h"
#include "core/frame_io.h"
#include "core/fresh_child.h"
#include "runtime/exec/child_runtime.h"
#include "runtime/exec/command_executor.h"
#include "runtime/exec/memory_limit.h"
#include "runtime/jit/jit_session.h"
#include "runtime/jit/template_protocol.h"
#include "runtime/sandbox/sandbox_entry.h"
#include "runtime/sandbox/template_sandbox.h"

extern char** environ;

namespace rexec {
namespace {

using template_protocol::FrameKind;
using template_protocol::JobKind;
using template_protocol::LaunchRequest;

constexpr size_t kMaxArgumentBytes = 64 << 20;

// Where a ready job's process keeps its plumbing while it waits (WaitAsJob): its standard
// streams and channel where the job finds them, then the sockets its launch comes on, from the
// worker or, for a job with a staging directory (sandboxed), from its init.
enum JobProcessFd {
  kJobStdin,
  kJobStdout,
  kJobStderr,
  kChannelIn = template_protocol::kJobChannelIn,
  kChannelOut = template_protocol::kJobChannelOut,
  kLaunchFd,
  kInitLinkFd
};
// The descriptors the job keeps once launched: its streams and its channel.
constexpr unsigned kJobDescriptors = kChannelOut + 1;
// A job's process waiting for its launch goes by this name (then by its program's).
constexpr char kReadyJobName[] = "rexec-ready";

void ReapJobs(int) {
  const int saved = errno;
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved;
}

void SetSchedulingPolicy(int policy) {
  const sched_param parameters{};
  sched_setscheduler(0, policy, &parameters);
}

void CallFini(void* fini) { reinterpret_cast<LinkedModule::VoidFunction>(fini)(); }

// A program's whole life: what a C runtime's _start would do, with rexec's exit path.
[[noreturn]] void StartProgram(const LinkedModule& module) {
  absl::StatusOr<std::vector<std::string>> args =
      template_protocol::ReadArguments(kChannelIn, kMaxArgumentBytes);
  close(kChannelIn);
  close(kChannelOut);
  if (!args.ok() || args->empty()) _exit(127);  // the worker gave up on this job
  std::vector<char*> argv;
  for (std::string& arg : *args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // What exec would call the process: `ps` on the worker's host shows the program.
  const char* slash = strrchr(argv[0], '/');
  prctl(PR_SET_NAME, slash != nullptr ? slash + 1 : argv[0], 0, 0, 0);
  for (LinkedModule::VoidFunction fini : module.finalizers()) {
    AtChildExit(&CallFini, reinterpret_cast<void*>(fini));
  }
  module.RunInitializers();
  ExitChild(module.main()(static_cast<int>(args->size()), argv.data(), environ));
}

// Kills every process below the calling one: the shim is their subreaper, so what a killed
// process leaves (setsid or not) becomes the shim's child, and is killed in turn.
void KillDescendants(pid_t job) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", static_cast<int>(getpid()));
  while (true) {
    kill(-job, SIGKILL);
    int list = open(path, O_RDONLY | O_CLOEXEC);
    char pids[4096];
    ssize_t got = list >= 0 ? read(list, pids, sizeof pids - 1) : -1;
    if (list >= 0) close(list);
    for (char* cursor = pids; got > 0 && cursor < pids + got;) {
      pid_t child = static_cast<pid_t>(strtol(cursor, &cursor, 10));
      if (child > 0) kill(child, SIGKILL);
      while (cursor < pids + got && *cursor == ' ') ++cursor;
      if (child <= 0) break;
    }
    if (waitpid(-1, nullptr, 0) < 0 && errno == ECHILD) return;
  }
}

// Without a sandbox, the job's shim stays outside the job: SIGTERM kills the job, and when the
// job has ended (or reported its exit code, core/exit_report.h) every process it started is
// killed too (what it left could hold the output pipes open), like sandbox_entry.h's
// StartJobTree and RunJobInit. After a report, that waits until the status is taken: the job's
// teardown is not the client's to wait for.
[[noreturn]] void RunShim(pid_t job, int status_fd) {
  CloseDescriptorsBut({status_fd});
  sandbox_entry::StopChildOnTerm(job);
  const JobEnd end = AwaitJobEnd(job);
  if (!end.reported) KillDescendants(job);
  const bool passed = PassOnStatus(status_fd, end.wait_status);
  if (end.reported) KillDescendants(job);
  _exit(passed ? 0 : 126);
}

bool ValidLaunch(const LaunchRequest& request) {
  return request.magic == template_protocol::kLaunchMagic &&
         (request.kind == JobKind::kProgram || request.kind == JobKind::kExecutor);
}

// In a ready job's process: waits for its launch, from the worker on kLaunchFd or, with a
// staging directory (sandboxed), from init on kInitLinkFd once the inputs are in place. False
// when both closed without one: the worker discarded the job (or it, or init, ended).
// `staging`: the staging directory that came with it (unsandboxed), else -1.
bool AwaitLaunch(LaunchRequest& request, int& staging) {
  pollfd sources[] = {{kLaunchFd, POLLIN, 0}, {kInitLinkFd, POLLIN, 0}};
  while (sources[0].fd >= 0 || sources[1].fd >= 0) {
    if (poll(sources, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    for (pollfd& source : sources) {
      if (source.fd < 0 || source.revents == 0) continue;
      size_t received = 0;
      staging = -1;
      if (ReceiveWithDescriptors(source.fd, &request, sizeof request, {&staging, 1}, received) ==
          sizeof request) {
        return ValidLaunch(request);
      }
      if (received != 0) close(staging);
      source.fd = -1;  // closed without a launch; poll() skips a negative descriptor
    }
  }
  return false;
}

// The job's own process, forked by its init or shim before the launch came, holding its
// plumbing (`plumbing`, JobProcessFd order up to kLaunchFd; `init_link`, its socket to init):
// sandboxed, it is hardened at once (nothing it holds yet is the job's); it places its
// plumbing, waits for the launch and becomes the job; a program reports its exit code to its
// parent as it ends (core/exit_report.h). Runs on the template's stack; noexcept makes an
// exception escaping user code std::terminate, exactly as in a native program whose main()
// throws.
[[noreturn]] void WaitAsJob(const LinkedModule& module, const TemplateServerOptions& options,
                            const std::array<int, kLaunchFd + 1>& plumbing,
                            int init_link) noexcept {
  const bool sandboxed = options.sandbox != nullptr;
  if (sandboxed) options.sandbox->HardenJob();
  // Until here the template's stderr was fd 2: a failure to prepare is the worker's to log.
  std::array<int, kInitLinkFd + 1> placed;
  std::copy(plumbing.begin(), plumbing.end(), placed.begin());
  placed[kInitLinkFd] = init_link;
  if (!PlaceDescriptors(placed)) _exit(127);
  close_range(placed.size(), ~0U, 0);
  prctl(PR_SET_NAME, kReadyJobName, 0, 0, 0);
  // Prepared: from here on, on its job's path (and the policy a program started by a shell has).
  SetSchedulingPolicy(SCHED_OTHER);
  LaunchRequest request;
  int staging = -1;
  if (!AwaitLaunch(request, staging)) _exit(0);
  // Unsandboxed, the job works in a copy of its files the worker made (exec/job_files.h).
  if (staging >= 0) {
    const int work = sandboxed ? -1
                               : openat(staging, template_protocol::kUnsandboxedWork,
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (work < 0 || fchdir(work) != 0) _exit(126);
    close(work);
  }
  close_range(kJobDescriptors, ~0U, 0);
  if (request.memory_bytes != 0) LimitMemoryGrowth(request.memory_bytes, LimitKind::kFixed);
  // A terminal would make stdout line-buffered; a pipe would not. Programs that print, sleep
  // and print again must show the first line while they run.
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (request.kind == JobKind::kExecutor) {
    prctl(PR_SET_NAME, "rexec-executor", 0, 0, 0);
    ServeCommands(module);
  }
  ReportExitToParent();
  StartProgram(module);
}

// The worker's and the job's ends of what a ready job is plumbed with, made by the template
// before it forks the job's processes.
struct JobPlumbing {
  std::array<int, template_protocol::kReadyJobDescriptors> offered;  // the worker's
  std::array<int, kLaunchFd + 1> job;  // the job's process's, JobProcessFd order
  int init_socket = -1;                // init's end of kInitSocket
  int status_write = -1;               // init's (or the shim's) end of kStatusRead

  // False, errno set, when a pipe or socket could not be made.
  bool Make() {
    offered.fill(-1);
    job.fill(-1);
    auto pipe_to = [](int& read_end, int& write_end) {
      int ends[2];
      if (pipe2(ends, O_CLOEXEC) != 0) return false;
      read_end = ends[0];
      write_end = ends[1];
      return true;
    };
    auto socket_between = [](int& one, int& other) {
      int ends[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return false;
      one = ends[0];
      other = ends[1];
      return true;
    };
    return pipe_to(job[kJobStdin], offered[template_protocol::kStdinWrite]) &&
           pipe_to(offered[template_protocol::kStdoutRead], job[kJobStdout]) &&
           pipe_to(offered[template_protocol::kStderrRead], job[kJobStderr]) &&
           pipe_to(job[kChannelIn], offered[template_protocol::kChannelWrite]) &&
           fcntl(offered[template_protocol::kChannelWrite], F_SETFL, O_NONBLOCK) == 0 &&
           pipe_to(offered[template_protocol::kChannelRead], job[kChannelOut]) &&
           socket_between(offered[template_protocol::kLaunchSocket], job[kLaunchFd]) &&
           socket_between(offered[template_protocol::kInitSocket], init_socket) &&
           pipe_to(offered[template_protocol::kStatusRead], status_write);
  }
  void CloseOffered() {
    for (int& fd : offered) Close(fd);
  }
  void CloseJobs() {
    for (int& fd : job) Close(fd);
    Close(init_socket);
    Close(status_write);
  }

 private:
  static void Close(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// A job started ahead of its launch, so that a launch is one message to the job: the job's init
// (sandboxed: already in the job's namespaces, ForkJobInit) or shim, forked by the template,
// prepares all that does not depend on the launch (the job's ids and filesystem) and forks the
// job's process (WaitAsJob), which holds its streams and channel already. The forks of a
// process that maps the JIT, the namespaces, the mounts and the pipes happen between jobs, not
// inside one. Globals stay fresh: nothing of the module runs before the launch.
// `template_pidfd` (sandboxed): a pidfd of the template, which init's parent-death check needs.
[[noreturn]] void ServeAsReadyJob(const LinkedModule& module, const TemplateServerOptions& options,
                                  JobPlumbing& plumbing, pid_t template_pid,
                                  int template_pidfd) noexcept {
  const bool sandboxed = options.sandbox != nullptr;
  plumbing.CloseOffered();
  // The template's stderr stays until the job's replaces it: a failure to prepare is the
  // worker's to log, not a job's.
  const std::array<int, kLaunchFd + 1>& job_ends = plumbing.job;
  CloseDescriptorsBut({STDERR_FILENO, template_pidfd, job_ends[0], job_ends[1], job_ends[2],
                       job_ends[3], job_ends[4], job_ends[5], plumbing.init_socket,
                       plumbing.status_write});
  ResetSignalHandling(sandboxed ? SIGTERM : 0);
  prctl(PR_SET_NAME, sandboxed ? "rexec-job-init" : "rexec-job-shim", 0, 0, 0);
  if (sandboxed) {
    options.sandbox->PrepareJobInit(template_pidfd);
  } else {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != template_pid) _exit(126);  // the template died before PDEATHSIG was armed
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  int init_link[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, init_link) != 0) _exit(126);
  HoldExitReports();  // before the job exists: its report must wait for AwaitJobEnd
  const pid_t self = getpid();
  const pid_t job = fork();
  if (job < 0) _exit(126);
  if (job == 0) {
    ReleaseExitReports();
    if (!sandboxed) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != self) _exit(126);
    }
    WaitAsJob(module, options, job_ends, init_link[1]);
  }
  close(init_link[1]);
  const int status_fd = plumbing.status_write;
  const int init_socket = plumbing.init_socket;
  plumbing.status_write = plumbing.init_socket = -1;
  plumbing.CloseJobs();
  if (!sandboxed) setpgid(job, job);  // also done by the job; whichever runs first wins the race
  SetSchedulingPolicy(SCHED_OTHER);  // prepared: from here on, on its job's path
  if (!sandboxed) {
    close(init_socket);
    close(init_link[0]);
    RunShim(job, status_fd);
  }
  sandbox_entry::StopChildOnTerm(job);
  // A job with a staging directory is launched through init, which moves its inputs in first;
  // any other, by the worker directly, which then closes init's socket.
  LaunchRequest request;
  int staging = -1;
  size_t received = 0;
  const ssize_t got =
      ReceiveWithDescriptors(init_socket, &request, sizeof request, {&staging, 1}, received);
  close(init_socket);
  if (got == sizeof request && ValidLaunch(request) && request.has_staging != 0 &&
      received == 1) {
    sandbox_entry::MoveInputsIn(staging);
    SendWithDescriptors(init_link[0], &request, sizeof request, {});
  } else if (received != 0) {
    close(staging);
    staging = -1;
  }
  close(init_link[0]);  // without a launch from init, the job waits for the worker's alone
  sandbox_entry::RunJobInit(job, status_fd, staging);
}

// Forks the processes of the next job, which then wait for its launch (ServeAsReadyJob), and
// offers them to the worker: its ends of the job's plumbing, and a pidfd of the job's init or
// shim. On failure, the offer carries the errno instead.
void OfferReadyJob(int channel, const LinkedModule& module, const TemplateServerOptions& options,
                   pid_t self, int self_pidfd) {
  template_protocol::ReadyJobOffer offer;
  JobPlumbing plumbing;
  if (!plumbing.Make()) {
    offer.error = errno;
  } else {
    // Until its pidfd is open, the child must not be reaped (its pid could be reused).
    sigset_t child_signal;
    sigemptyset(&child_signal);
    sigaddset(&child_signal, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child_signal, nullptr);
    const pid_t pid = options.sandbox != nullptr ? TemplateSandbox::ForkJobInit() : fork();
    if (pid == 0) ServeAsReadyJob(module, options, plumbing, self, self_pidfd);
    offer.error = pid < 0 ? errno : 0;
    if (pid > 0) {
      int& pidfd = plumbing.offered[template_protocol::kShimPidfd];
      pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
      if (pidfd < 0) {
        offer.error = errno;
        kill(pid, SIGKILL);
      }
    }
    sigprocmask(SIG_UNBLOCK, &child_signal, nullptr);
  }
  plumbing.CloseJobs();
  SendWithDescriptors(channel, &offer, sizeof offer,
                      offer.error == 0 ? std::span<const int>(plumbing.offered)
                                       : std::span<const int>());
  // The worker holds them now; if it never launches the job, its processes end with the sockets.
  plumbing.CloseOffered();
}

// Links the module the worker sends, with the libraries sent before it; the process's exit code
// when that fails.
int LinkModule(int channel, const TemplateServerOptions& options,
               std::shared_ptr<JitSession>& session, std::shared_ptr<LinkedModule>& module) {
  absl::StatusOr<std::shared_ptr<JitSession>> created = JitSession::Create(ChildRuntimeSymbols());
  if (!created.ok()) {
    WriteFrame(channel, FrameKind::kError, std::string(created.status().message()), std::nullopt).IgnoreError();
    return 1;
  }
  session = *std::move(created);
  if (!WriteFrame(channel, FrameKind::kReady, "", std::nullopt).ok()) return 1;
  std::vector<LibraryInput> libraries;
  absl::StatusOr<Frame> object = ReadFrame(channel, options.max_object_bytes, std::nullopt);
  while (object.ok() && object->kind == FrameKind::kLibrary) {
    absl::StatusOr<LibraryInput> library = template_protocol::DecodeLibrary(object->payload);
    if (!library.ok()) return 1;
    libraries.push_back(*std::move(library));
    object = ReadFrame(channel, options.max_object_bytes, std::nullopt);
  }
  if (!object.ok() || object->kind != FrameKind::kObject) return 1;
  absl::StatusOr<std::shared_ptr<LinkedModule>> linked =
      session->Link(options.module, std::move(object->payload), std::move(libraries));
  if (!linked.ok()) {
    WriteFrame(channel, FrameKind::kError, std::string(linked.status().message()), std::nullopt).IgnoreError();
    return 1;
  }
  module = *std::move(linked);
  template_protocol::LinkedEntries entries;
  entries.has_main = module->main() != nullptr;
  entries.commands = module->command_names();
  return WriteFrame(channel, FrameKind::kLinked, entries.Encode(), std::nullopt).ok() ? 0 : 1;
}

}  // namespace

int ServeTemplate(int channel, const TemplateServerOptions& options) {
  // What a job's environment holds: nothing of the worker's.
  clearenv();
  setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
  if (options.sandbox != nullptr) setenv("HOME", "/work", 1);

  std::shared_ptr<JitSession> session;
  std::shared_ptr<LinkedModule> module;
  if (int failed = LinkModule(channel, options, session, module); failed != 0) return failed;

  struct sigaction reap {};
  reap.sa_handler = &ReapJobs;
  reap.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &reap, nullptr);
  const pid_t self = getpid();
  // How a sandboxed job's init, whose parent is outside its pid namespace, tells that the
  // template is still there.
  const int self_pidfd =
      options.sandbox != nullptr ? static_cast<int>(syscall(SYS_pidfd_open, self, 0)) : -1;
  if (options.sandbox != nullptr && self_pidfd < 0) return 1;
  std::fflush(nullptr);  // or each job would flush the template's pending stdio output too
  // Preparing jobs ahead is background work: it must not take a CPU from a job that runs, nor
  // from the worker that takes a job's result. A woken SCHED_BATCH process does not preempt
  // them; a job's processes return to the normal policy once they are prepared.
  SetSchedulingPolicy(SCHED_BATCH);

  template_protocol::ReadyJobRequest request;
  while (ReadFully(channel, &request, sizeof request) &&
         request.magic == template_protocol::kReadyJobMagic) {
    OfferReadyJob(channel, *module, options, self, self_pidfd);
  }
  return 0;
}

}  // namespace rexec
