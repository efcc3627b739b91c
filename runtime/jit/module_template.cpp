#include "runtime/jit/module_template.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "core/frame_io.h"
#include "core/helper_process.h"

namespace rexec {
namespace {

using template_protocol::FrameKind;
using template_protocol::LaunchReply;
using template_protocol::LaunchRequest;

// A template forks at once; one that does not answer within this is wedged.
constexpr auto kLaunchDeadline = std::chrono::seconds(10);

// The template's command line: what it holds, and how to enter the sandbox (its descriptors 3
// and 4 are the shared user and network namespaces).
std::vector<std::string> TemplateArgs(const ContentHash& hash, const Sandbox* sandbox) {
  std::vector<std::string> args = {absl::StrCat("--module=", hash.hex())};
  if (sandbox != nullptr) {
    const SandboxOptions& options = sandbox->options();
    args.push_back("--sandbox-namespaces=3,4");
    args.push_back(absl::StrCat("--scratch-bytes=", options.scratch_bytes));
    args.push_back(absl::StrCat("--max-processes=", options.max_processes));
    args.push_back(absl::StrCat("--max-open-files=", options.max_open_files));
    args.push_back(absl::StrCat("--max-file-bytes=", options.max_file_bytes));
  }
  return args;
}

// Waits until `fd` has `events`, at most until `deadline`.
bool AwaitReady(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                             std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd waiting{fd, events, 0};
    int ready = poll(&waiting, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<ModuleTemplate>> ModuleTemplate::Start(
    const ModuleTemplateOptions& options, const ContentHash& hash, std::string_view object) {
  std::shared_ptr<ModuleTemplate> started(new ModuleTemplate(hash, object.size()));
  if (absl::Status linked = started->Link(options, object); !linked.ok()) return linked;
  return started;
}

absl::Status ModuleTemplate::Link(const ModuleTemplateOptions& options, std::string_view object) {
  int channel[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) {
    return absl::UnavailableError(absl::StrCat("socketpair: ", strerror(errno)));
  }
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  HelperProcessSpec spec;
  spec.path = options.binary_path;
  spec.args = TemplateArgs(hash_, options.sandbox);
  // Its stderr is the worker's: a template that cannot start says why there.
  spec.descriptors = {channel[1], null_fd, STDERR_FILENO};
  if (options.sandbox != nullptr) {
    spec.descriptors.push_back(options.sandbox->user_namespace_fd());
    spec.descriptors.push_back(options.sandbox->network_namespace_fd());
  }
  absl::StatusOr<pid_t> pid =
      null_fd < 0 ? absl::UnavailableError(strerror(errno)) : StartHelperProcess(spec);
  close(channel[1]);
  if (null_fd >= 0) close(null_fd);
  if (!pid.ok()) {
    close(channel[0]);
    return absl::UnavailableError(absl::StrCat("cannot start a module template (",
                                               pid.status().message(), ")"));
  }
  pid_ = *pid;
  channel_ = channel[0];

  const auto deadline = std::chrono::steady_clock::now() + options.deadline;
  absl::StatusOr<Frame> ready = ReadFrame(channel_, options.max_message_bytes, deadline);
  if (!ready.ok() || ready->kind != FrameKind::kReady) {
    return absl::UnavailableError(absl::StrCat(
        "the module template ", options.binary_path, " did not start (",
        ready.ok() ? ready->payload : std::string(ready.status().message()), ")"));
  }
  absl::Status sent = WriteFrame(channel_, FrameKind::kObject, object, deadline);
  absl::StatusOr<Frame> reply =
      sent.ok() ? ReadFrame(channel_, options.max_message_bytes, deadline)
                : absl::StatusOr<Frame>(sent);
  if (reply.ok() && reply->kind == FrameKind::kError) {
    return absl::FailedPreconditionError(reply->payload);
  }
  if (!reply.ok() || reply->kind != FrameKind::kLinked) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the linker process ended while linking this module (",
        reply.ok() ? "it broke its protocol" : std::string(reply.status().message()), ")"));
  }
  absl::StatusOr<template_protocol::LinkedEntries> entries =
      template_protocol::LinkedEntries::Decode(reply->payload);
  if (!entries.ok()) return entries.status();
  entries_ = *std::move(entries);
  return absl::OkStatus();
}

ModuleTemplate::~ModuleTemplate() {
  if (channel_ >= 0) close(channel_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

bool ModuleTemplate::has_command(std::string_view name) const {
  return std::find(entries_.commands.begin(), entries_.commands.end(), name) !=
         entries_.commands.end();
}

bool ModuleTemplate::healthy() const {
  std::lock_guard lock(launch_mutex_);
  return healthy_;
}

absl::StatusOr<int> ModuleTemplate::Launch(JobKind kind, uint64_t memory_bytes,
                                           const LaunchDescriptors& descriptors) const {
  std::lock_guard lock(launch_mutex_);
  if (!healthy_) return absl::UnavailableError("the module's template process has ended");
  auto fail = [this](const char* what) {
    healthy_ = false;
    return absl::UnavailableError(
        absl::StrCat("the module's template process failed (", what, ": ", strerror(errno), ")"));
  };

  LaunchRequest request;
  request.kind = kind;
  request.memory_bytes = memory_bytes;
  iovec request_bytes{&request, sizeof request};
  alignas(cmsghdr) char request_control[CMSG_SPACE(sizeof(int) * descriptors.size())] = {};
  msghdr message{};
  message.msg_iov = &request_bytes;
  message.msg_iovlen = 1;
  message.msg_control = request_control;
  message.msg_controllen = sizeof request_control;
  cmsghdr* rights = CMSG_FIRSTHDR(&message);
  rights->cmsg_level = SOL_SOCKET;
  rights->cmsg_type = SCM_RIGHTS;
  rights->cmsg_len = CMSG_LEN(sizeof(int) * descriptors.size());
  memcpy(CMSG_DATA(rights), descriptors.data(), sizeof(int) * descriptors.size());
  const auto deadline = std::chrono::steady_clock::now() + kLaunchDeadline;
  ssize_t sent;
  while ((sent = sendmsg(channel_, &message, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (sent != sizeof request) return fail("send");

  LaunchReply reply;
  iovec reply_bytes{&reply, sizeof reply};
  alignas(cmsghdr) char reply_control[CMSG_SPACE(sizeof(int))] = {};
  msghdr answer{};
  answer.msg_iov = &reply_bytes;
  answer.msg_iovlen = 1;
  answer.msg_control = reply_control;
  answer.msg_controllen = sizeof reply_control;
  if (!AwaitReady(channel_, POLLIN, deadline)) {
    errno = ETIMEDOUT;
    return fail("wait");
  }
  ssize_t got;
  while ((got = recvmsg(channel_, &answer, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 &&
         errno == EINTR) {
  }
  int pidfd = -1;
  for (cmsghdr* part = CMSG_FIRSTHDR(&answer); part != nullptr; part = CMSG_NXTHDR(&answer, part)) {
    if (part->cmsg_level == SOL_SOCKET && part->cmsg_type == SCM_RIGHTS &&
        part->cmsg_len == CMSG_LEN(sizeof(int))) {
      memcpy(&pidfd, CMSG_DATA(part), sizeof(int));
    }
  }
  if (got != sizeof reply || reply.magic != template_protocol::kLaunchMagic ||
      (answer.msg_flags & MSG_CTRUNC) != 0) {
    if (pidfd >= 0) close(pidfd);
    if (got >= 0) errno = EPROTO;
    return fail("receive");
  }
  if (reply.error != 0 || pidfd < 0) {
    if (pidfd >= 0) close(pidfd);
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot start the job: fork: ", strerror(reply.error ? reply.error : EPROTO)));
  }
  return pidfd;
}

}  // namespace rexec
