#include "runtime/jit/module_template.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <span>

#include "absl/strings/str_cat.h"
#include "core/frame_io.h"
#include "core/descriptor_passing.h"
#include "core/helper_process.h"

namespace rexec {
namespace {

using template_protocol::FrameKind;
using template_protocol::LaunchRequest;
using template_protocol::ReadyJobOffer;

// A template forks at once; one that does not offer a job within this is wedged.
constexpr auto kReadyJobDeadline = std::chrono::seconds(10);

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

}  // namespace

absl::StatusOr<std::shared_ptr<ModuleTemplate>> ModuleTemplate::Start(
    const ModuleTemplateOptions& options, const ContentHash& hash, std::string_view object,
    const std::vector<LibraryInput>& libraries) {
  absl::StatusOr<std::unique_ptr<ModuleTemplate>> spawned = Spawn(options, hash);
  if (!spawned.ok()) return spawned.status();
  if (absl::Status linked = (*spawned)->Link(options, object, libraries); !linked.ok()) {
    return linked;
  }
  return std::shared_ptr<ModuleTemplate>(*std::move(spawned));
}

absl::StatusOr<std::unique_ptr<ModuleTemplate>> ModuleTemplate::Spawn(
    const ModuleTemplateOptions& options, const ContentHash& hash) {
  HelperProcessSpec spec;
  spec.path = options.binary_path;
  spec.args = TemplateArgs(hash, options.sandbox);
  spec.bind_symbols_at_start = true;  // each job is a fork of it
  // Its stderr is the worker's: a template that cannot start says why there.
  spec.descriptors = {HelperProcessSpec::kChannel, HelperProcessSpec::kDevNull, STDERR_FILENO};
  if (options.sandbox != nullptr) {
    spec.descriptors.push_back(options.sandbox->user_namespace_fd());
    spec.descriptors.push_back(options.sandbox->network_namespace_fd());
  }
  absl::StatusOr<HelperProcess> started = StartHelperProcess(spec);
  if (!started.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot start a module template (",
                                               started.status().message(), ")"));
  }
  std::unique_ptr<ModuleTemplate> spawned(new ModuleTemplate(hash));
  spawned->pid_ = started->pid;
  spawned->channel_ = started->channel;
  spawned->sandboxed_ = options.sandbox != nullptr;
  return spawned;
}

absl::Status ModuleTemplate::Link(const ModuleTemplateOptions& options, std::string_view object,
                                  const std::vector<LibraryInput>& libraries) {
  object_bytes_ = object.size();
  const auto deadline = std::chrono::steady_clock::now() + options.deadline;
  absl::StatusOr<Frame> ready = ReadFrame(channel_, options.max_message_bytes, deadline);
  if (!ready.ok() || ready->kind != FrameKind::kReady) {
    return absl::UnavailableError(absl::StrCat(
        "the module template ", options.binary_path, " did not start (",
        ready.ok() ? ready->payload : std::string(ready.status().message()), ")"));
  }
  absl::Status sent = absl::OkStatus();
  for (const LibraryInput& library : libraries) {
    if (sent.ok()) {
      sent = WriteFrame(channel_, FrameKind::kLibrary, template_protocol::EncodeLibrary(library),
                        deadline);
    }
  }
  if (sent.ok()) sent = WriteFrame(channel_, FrameKind::kObject, object, deadline);
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
  // The first jobs' processes start now, before any launch.
  RequestReadyJobsAhead();
  if (ready_jobs_asked_ == 0) {
    return absl::UnavailableError("the module template ended after linking");
  }
  return absl::OkStatus();
}

ModuleTemplate::~ModuleTemplate() {
  if (channel_ >= 0) close(channel_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    AwaitHelperExit(pid_);
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

bool ModuleTemplate::RequestReadyJob() const {
  const template_protocol::ReadyJobRequest request;
  if (SendWithDescriptors(channel_, &request, sizeof request, {}) != sizeof request) return false;
  ++ready_jobs_asked_;
  return true;
}

absl::StatusOr<ModuleTemplate::JobEnds> ModuleTemplate::TakeReadyJob() const {
  auto fail = [this](const char* what) {
    healthy_ = false;
    return absl::UnavailableError(
        absl::StrCat("the module's template process failed (", what, ": ", strerror(errno), ")"));
  };
  // None asked for is left (launches came faster than jobs ended): this one waits for its fork.
  if (ready_jobs_asked_ == 0 && !RequestReadyJob()) return fail("send");
  pollfd offer_waiting{channel_, POLLIN, 0};
  if (poll(&offer_waiting, 1, 0) != 1) {
    // This launch waits for its processes: jobs come faster than one ahead covers.
    if (launched_) ready_jobs_wanted_ = kMostReadyJobsAhead;
    if (absl::Status ready = AwaitReadable(channel_, std::chrono::steady_clock::now() +
                                                         kReadyJobDeadline);
        !ready.ok()) {
      errno = ETIMEDOUT;
      return fail("wait");
    }
  }
  launched_ = true;
  ReadyJobOffer offer;
  JobEnds::Descriptors fds;
  fds.fill(-1);
  size_t received = 0;
  ssize_t got = ReceiveWithDescriptors(channel_, &offer, sizeof offer, fds, received);
  --ready_jobs_asked_;
  const bool whole = got == sizeof offer && offer.magic == template_protocol::kReadyJobMagic &&
                     received == (offer.error == 0 ? template_protocol::kReadyJobDescriptors : 0);
  if (!whole) {
    for (size_t i = 0; i < received; ++i) close(fds[i]);
    if (got >= 0) errno = EPROTO;
    return fail("receive");
  }
  if (offer.error != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot start the job: fork: ", strerror(offer.error)));
  }
  return JobEnds(fds);
}

void ModuleTemplate::ReplenishReadyJobs() const {
  std::lock_guard lock(launch_mutex_);
  RequestReadyJobsAhead();
}

int ModuleTemplate::ready_jobs_ahead() const {
  std::lock_guard lock(launch_mutex_);
  return ready_jobs_wanted_;
}

void ModuleTemplate::RequestReadyJobsAhead() const {
  while (healthy_ && ready_jobs_asked_ < ready_jobs_wanted_ && RequestReadyJob()) {
  }
}

absl::StatusOr<ModuleTemplate::JobEnds> ModuleTemplate::Launch(JobKind kind,
                                                               uint64_t memory_bytes,
                                                               int staging_fd,
                                                               std::string_view channel_preface,
                                                               size_t& preface_sent) const {
  std::lock_guard lock(launch_mutex_);
  if (!healthy_) return absl::UnavailableError("the module's template process has ended");

  LaunchRequest request;
  request.kind = kind;
  request.memory_bytes = memory_bytes;
  request.has_staging = staging_fd >= 0 ? 1 : 0;
  const std::span<const int> staging =
      staging_fd >= 0 ? std::span<const int>(&staging_fd, 1) : std::span<const int>();
  // Sandboxed, a staging directory goes to init, which moves the inputs in and then launches
  // the job: the job must never hold it (a way out of the sandbox's view of the files).
  const template_protocol::ReadyJobDescriptor launch_to =
      staging_fd >= 0 && sandboxed_ ? template_protocol::kInitSocket
                                    : template_protocol::kLaunchSocket;
  // A ready job that died waiting (killed from outside, or it could not prepare, having said
  // why on the template's stderr, which is the worker's) is passed over; the last attempt is
  // with one started for this launch.
  for (int attempt = 0; attempt <= kMostReadyJobsAhead; ++attempt) {
    absl::StatusOr<JobEnds> job = TakeReadyJob();
    if (!job.ok()) return job.status();
    preface_sent = 0;
    if (!channel_preface.empty()) {
      // Non-blocking: what does not fit now is the caller's to send. A job that died makes this
      // fail (EPIPE, never SIGPIPE: the worker and the client ignore it), and its launch too.
      const ssize_t sent = write(job->get(template_protocol::kChannelWrite),
                                 channel_preface.data(), channel_preface.size());
      if (sent > 0) preface_sent = static_cast<size_t>(sent);  // the caller sends the rest
    }
    const bool launched = SendWithDescriptors(job->get(launch_to), &request, sizeof request,
                                              staging) == sizeof request;
    // Closing the other socket tells the job (or init) that the launch will not come there.
    job->Close(template_protocol::kLaunchSocket);
    job->Close(template_protocol::kInitSocket);
    if (launched) {
      // An executor stays: its replacement is prepared now, not when it ends.
      if (kind == JobKind::kExecutor) RequestReadyJobsAhead();
      return job;
    }
  }
  return absl::UnavailableError(
      "cannot start the job: its processes ended before it could run (the worker's log says "
      "why)");
}

ModuleTemplate::JobEnds::~JobEnds() {
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

void ModuleTemplate::JobEnds::Close(template_protocol::ReadyJobDescriptor which) {
  if (const int fd = Take(which); fd >= 0) close(fd);
}

}  // namespace rexec
