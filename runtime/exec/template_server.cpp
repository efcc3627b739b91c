#include "runtime/exec/template_server.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "core/descriptor_passing.h"
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
using template_protocol::LaunchReply;
using template_protocol::LaunchRequest;
using template_protocol::kLaunchDescriptors;
using template_protocol::kMaxLaunchDescriptors;

// Where a job finds its descriptors (template_protocol.h's LaunchDescriptor order).
constexpr int kChannelFd = template_protocol::kChannel;
constexpr int kStatusFd = template_protocol::kStatus;
constexpr int kStagingFd = template_protocol::kStaging;
constexpr size_t kMaxArgumentBytes = 64 << 20;

void ReapJobs(int) {
  const int saved = errno;
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved;
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

// Without a sandbox: the calling process stays outside as the job's shim, like
// sandbox_entry.h's StartJobTree: SIGTERM kills the job, and when the job has ended every
// process it started is killed too (what it left could hold the output pipes open). Returns in
// the job, which has a process group of its own.
void StartUnsandboxedJob(int status_fd) {
  const pid_t shim = getpid();
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  const pid_t job = fork();
  if (job < 0) _exit(126);
  if (job == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != shim) _exit(126);
    return;
  }
  close_range(0, status_fd - 1, 0);
  close_range(status_fd + 1, ~0U, 0);
  setpgid(job, job);  // also done by the job; whichever runs first wins the race
  sandbox_entry::StopChildOnTerm(job);
  int status = 0;
  while (waitpid(job, &status, 0) < 0) {
    if (errno != EINTR) _exit(126);
  }
  KillDescendants(job);
  _exit(write(status_fd, &status, sizeof status) == sizeof status ? 0 : 126);
}

// The forked child: places the job's descriptors, enters its sandbox and runs it. Runs on the
// template's stack; noexcept makes an exception escaping user code std::terminate, exactly as in
// a native program whose main() throws.
// Sandboxed, it is the job's init already (TemplateSandbox::ForkJobInit), with SIGTERM blocked
// until init can act on it; `template_pidfd` then tells whether the template is still there.
[[noreturn]] void RunJob(const LinkedModule& module, const TemplateServerOptions& options,
                         const LaunchRequest& request, const int (&fds)[kMaxLaunchDescriptors],
                         pid_t template_pid, int template_pidfd) noexcept {
  const bool has_staging = request.has_staging != 0;
  const size_t count = kLaunchDescriptors + (has_staging ? 1 : 0);
  int placed[kMaxLaunchDescriptors + 1];
  std::copy(fds, fds + count, placed);
  placed[count] = template_pidfd;  // kept above the job's own, for init alone
  const bool sandboxed = options.sandbox != nullptr;
  if (!PlaceDescriptors({placed, sandboxed ? count + 1 : count})) _exit(127);
  close_range(static_cast<unsigned>(sandboxed ? count + 1 : count), ~0U, 0);
  ResetSignalHandling(sandboxed ? SIGTERM : 0);

  if (sandboxed) {
    options.sandbox->EnterJobAsInit(kStatusFd, has_staging ? kStagingFd : -1,
                                    static_cast<int>(count));
  } else {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != template_pid) _exit(127);  // the template died before PDEATHSIG was armed
    StartUnsandboxedJob(kStatusFd);
    // Unsandboxed, the job works in a copy of its files the worker made (exec/job_files.h).
    if (has_staging) {
      const int work = openat(kStagingFd, template_protocol::kUnsandboxedWork,
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (work < 0 || fchdir(work) != 0) _exit(126);
      close(work);
    }
  }
  close(kStatusFd);
  if (has_staging) close(kStagingFd);
  if (request.memory_bytes != 0) LimitMemoryGrowth(request.memory_bytes, LimitKind::kFixed);
  // A terminal would make stdout line-buffered; a pipe would not. Programs that print, sleep
  // and print again must show the first line while they run.
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (request.kind == JobKind::kExecutor) ServeCommands(module);
  StartProgram(module);
}

// Receives one launch request and its descriptors. False at the end of the channel or on a
// malformed request (the worker never sends one: the template then ends).
bool ReceiveLaunch(int channel, LaunchRequest& request, int (&fds)[kMaxLaunchDescriptors],
                   size_t& received) {
  received = 0;
  ssize_t got = ReceiveWithDescriptors(channel, &request, sizeof request, fds, received);
  const bool valid = got == sizeof request &&
                     received == kLaunchDescriptors + (request.has_staging != 0 ? 1 : 0) &&
                     request.magic == template_protocol::kLaunchMagic &&
                     (request.kind == JobKind::kProgram || request.kind == JobKind::kExecutor);
  if (!valid) {
    for (size_t i = 0; i < received; ++i) close(fds[i]);
  }
  return valid;
}

void SendReply(int channel, int error, int pidfd) {
  LaunchReply reply;
  reply.error = error;
  SendWithDescriptors(channel, &reply, sizeof reply,
                      pidfd >= 0 ? std::span<const int>(&pidfd, 1) : std::span<const int>());
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
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  const pid_t self = getpid();
  // How a sandboxed job's init, whose parent is outside its pid namespace, tells that the
  // template is still there.
  const int self_pidfd =
      options.sandbox != nullptr ? static_cast<int>(syscall(SYS_pidfd_open, self, 0)) : -1;
  if (options.sandbox != nullptr && self_pidfd < 0) return 1;
  std::fflush(nullptr);  // or each job would flush the template's pending stdio output too

  LaunchRequest request;
  int fds[kMaxLaunchDescriptors];
  size_t received = 0;
  while (ReceiveLaunch(channel, request, fds, received)) {
    // Until the job's pidfd is open, it must not be reaped (its pid could be reused).
    sigprocmask(SIG_BLOCK, &child_signal, nullptr);
    const pid_t job = options.sandbox != nullptr ? TemplateSandbox::ForkJobInit() : fork();
    if (job == 0) RunJob(*module, options, request, fds, self, self_pidfd);
    int error = job < 0 ? errno : 0;
    int pidfd = -1;
    if (job > 0) {
      pidfd = static_cast<int>(syscall(SYS_pidfd_open, job, 0));
      if (pidfd < 0) {
        error = errno;
        kill(job, SIGKILL);
      }
    }
    sigprocmask(SIG_UNBLOCK, &child_signal, nullptr);
    for (size_t i = 0; i < received; ++i) close(fds[i]);
    SendReply(channel, error, pidfd);
    if (pidfd >= 0) close(pidfd);
  }
  return 0;
}

}  // namespace rexec
