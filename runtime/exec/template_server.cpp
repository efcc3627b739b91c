#include "runtime/exec/template_server.h"

#include <fcntl.h>
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
using template_protocol::kLaunchDescriptors;
using template_protocol::kMaxLaunchDescriptors;

constexpr int kChannelFd = template_protocol::kChannel;
constexpr size_t kMaxArgumentBytes = 64 << 20;

// Where a job's init (sandboxed) or shim keeps its descriptors once its launch has come: the
// launch's five (LaunchDescriptor order), the socket to the job's process, then the staging
// directory if the job has one.
constexpr int kStatusFd = template_protocol::kStatus;
constexpr int kJobSocketFd = template_protocol::kLaunchDescriptors;
constexpr int kStagingFd = kJobSocketFd + 1;
// The job's process gets its streams and its channel, and unsandboxed, its staging directory.
constexpr size_t kJobDescriptors = template_protocol::kChannel + 1;
constexpr int kJobStagingFd = kJobDescriptors;
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
      template_protocol::ReadArguments(kChannelFd, kMaxArgumentBytes);
  close(kChannelFd);
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
[[noreturn]] void RunShim(pid_t job) {
  CloseDescriptorsBut({kStatusFd});
  sandbox_entry::StopChildOnTerm(job);
  const JobEnd end = AwaitJobEnd(job);
  if (!end.reported) KillDescendants(job);
  const bool passed = PassOnStatus(kStatusFd, end.wait_status);
  if (end.reported) KillDescendants(job);
  _exit(passed ? 0 : 126);
}

// Receives the job's launch request and its descriptors from the worker. False when the worker
// closed the socket without one (it discarded the job, or it ended) or sent a malformed one
// (it never does).
bool ReceiveLaunch(int socket, LaunchRequest& request, int (&fds)[kMaxLaunchDescriptors],
                   size_t& received) {
  received = 0;
  ssize_t got = ReceiveWithDescriptors(socket, &request, sizeof request, fds, received);
  const bool valid = got == sizeof request &&
                     received == kLaunchDescriptors + (request.has_staging != 0 ? 1 : 0) &&
                     request.magic == template_protocol::kLaunchMagic &&
                     (request.kind == JobKind::kProgram || request.kind == JobKind::kExecutor);
  if (!valid) {
    for (size_t i = 0; i < received; ++i) close(fds[i]);
  }
  return valid;
}

// The job's own process, forked by its init or shim before the launch came: sandboxed, it is
// hardened at once (nothing it holds yet is the job's); then it waits on `socket` for the
// launch and its descriptors and becomes the job; a program reports its exit code to its parent
// as it ends (core/exit_report.h). Runs on the template's stack; noexcept makes an exception
// escaping user code std::terminate, exactly as in a native program whose main() throws.
[[noreturn]] void WaitAsJob(const LinkedModule& module, const TemplateServerOptions& options,
                            int socket) noexcept {
  const bool sandboxed = options.sandbox != nullptr;
  if (sandboxed) options.sandbox->HardenJob();
  prctl(PR_SET_NAME, kReadyJobName, 0, 0, 0);
  // Prepared: from here on, on its job's path (and the policy a program started by a shell has).
  SetSchedulingPolicy(SCHED_OTHER);
  LaunchRequest request;
  int fds[kJobDescriptors + 1];
  size_t received = 0;
  if (ReceiveWithDescriptors(socket, &request, sizeof request, fds, received) != sizeof request) {
    _exit(0);  // no launch: the template is gone, or discarded this job
  }
  // Unsandboxed, the job works in a copy of its files the worker made (exec/job_files.h).
  const bool has_staging = !sandboxed && request.has_staging != 0;
  const size_t count = kJobDescriptors + (has_staging ? 1 : 0);
  if (received != count || !PlaceDescriptors({fds, count})) _exit(127);
  close_range(static_cast<unsigned>(count), ~0U, 0);
  if (has_staging) {
    const int work = openat(kJobStagingFd, template_protocol::kUnsandboxedWork,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (work < 0 || fchdir(work) != 0) _exit(126);
    close(work);
    close(kJobStagingFd);
  }
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

// A job started ahead of its launch, so that a launch only hands descriptors down: the job's
// init (sandboxed: already in the job's namespaces, ForkJobInit) or shim, forked by the template,
// prepares all that does not depend on the launch (the job's ids and filesystem) and forks the
// job's process (WaitAsJob); then it waits on `socket` for the launch. The forks of a process
// that maps the JIT, the namespaces and the mounts happen between jobs, not inside one. Globals
// stay fresh: nothing of the module runs before the launch. `template_pidfd` (sandboxed): a
// pidfd of the template, which init's parent-death check needs.
[[noreturn]] void ServeAsReadyJob(const LinkedModule& module, const TemplateServerOptions& options,
                                  int socket, pid_t template_pid, int template_pidfd) noexcept {
  const bool sandboxed = options.sandbox != nullptr;
  // The template's stderr stays until the launch's replaces it: a failure to prepare is the
  // worker's to log, not a job's.
  CloseDescriptorsBut({STDERR_FILENO, socket, template_pidfd});
  ResetSignalHandling(sandboxed ? SIGTERM : 0);
  prctl(PR_SET_NAME, sandboxed ? "rexec-job-init" : "rexec-job-shim", 0, 0, 0);
  if (sandboxed) {
    options.sandbox->PrepareJobInit(template_pidfd);
  } else {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != template_pid) _exit(126);  // the template died before PDEATHSIG was armed
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  int job_socket[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, job_socket) != 0) _exit(126);
  HoldExitReports();  // before the job exists: its report must wait for AwaitJobEnd
  const pid_t self = getpid();
  const pid_t job = fork();
  if (job < 0) _exit(126);
  if (job == 0) {
    ReleaseExitReports();
    close(socket);
    close(job_socket[0]);
    if (!sandboxed) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != self) _exit(126);
    }
    WaitAsJob(module, options, job_socket[1]);
  }
  close(job_socket[1]);
  if (!sandboxed) setpgid(job, job);  // also done by the job; whichever runs first wins the race
  SetSchedulingPolicy(SCHED_OTHER);  // prepared: from here on, on its job's path

  LaunchRequest request;
  int fds[kMaxLaunchDescriptors];
  size_t received = 0;
  if (!ReceiveLaunch(socket, request, fds, received)) {
    kill(job, SIGKILL);
    _exit(0);  // the worker discarded this job
  }
  const bool has_staging = request.has_staging != 0;
  int placed[kStagingFd + 1];
  std::copy(fds, fds + kLaunchDescriptors, placed);
  placed[kJobSocketFd] = job_socket[0];
  if (has_staging) placed[kStagingFd] = fds[template_protocol::kStaging];
  const size_t count = has_staging ? kStagingFd + 1 : kJobSocketFd + 1;
  if (!PlaceDescriptors({placed, count})) _exit(127);
  close_range(static_cast<unsigned>(count), ~0U, 0);
  if (sandboxed && has_staging) sandbox_entry::MoveInputsIn(kStagingFd);
  const int handed[] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, kChannelFd, kStagingFd};
  const size_t handed_count = kJobDescriptors + (!sandboxed && has_staging ? 1 : 0);
  if (SendWithDescriptors(kJobSocketFd, &request, sizeof request, {handed, handed_count}) !=
      sizeof request) {
    kill(job, SIGKILL);
    _exit(126);
  }
  if (sandboxed) sandbox_entry::RunJobInit(job, kStatusFd, has_staging ? kStagingFd : -1);
  RunShim(job);
}

// Forks the processes of the next job, which then wait for its launch (ServeAsReadyJob), and
// offers them to the worker: a socket to them and a pidfd of the first. On failure, the offer
// carries the errno instead.
void OfferReadyJob(int channel, const LinkedModule& module, const TemplateServerOptions& options,
                   pid_t self, int self_pidfd) {
  template_protocol::ReadyJobOffer offer;
  int offered[template_protocol::kReadyJobDescriptors] = {-1, -1};
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    offer.error = errno;
  } else {
    // Until its pidfd is open, the child must not be reaped (its pid could be reused).
    sigset_t child_signal;
    sigemptyset(&child_signal);
    sigaddset(&child_signal, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child_signal, nullptr);
    const pid_t pid = options.sandbox != nullptr ? TemplateSandbox::ForkJobInit() : fork();
    if (pid == 0) {
      close(sockets[0]);
      ServeAsReadyJob(module, options, sockets[1], self, self_pidfd);
    }
    offer.error = pid < 0 ? errno : 0;
    close(sockets[1]);
    if (pid > 0) {
      offered[template_protocol::kShimPidfd] = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
      if (offered[template_protocol::kShimPidfd] < 0) {
        offer.error = errno;
        kill(pid, SIGKILL);
      }
    }
    sigprocmask(SIG_UNBLOCK, &child_signal, nullptr);
    offered[template_protocol::kLaunchSocket] = sockets[0];
  }
  SendWithDescriptors(channel, &offer, sizeof offer,
                      offer.error == 0 ? std::span<const int>(offered) : std::span<const int>());
  // The worker holds them now; if it never launches the job, its processes end with the socket.
  for (int fd : offered) {
    if (fd >= 0) close(fd);
  }
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
