// A module linked in a process of its own, from which every job of that module starts.
//
// User code never runs in the worker or in a fork of it: a fork would inherit the worker's
// memory (other clients' arguments and states, its token) and descriptors (its listener). So the
// worker starts one template process per linked module with exec (rexec-module-template, clean:
// no memory of the worker, one socket, no environment), inside the sandbox when there is one;
// the template links the module's object with ORC in its own address space and then only forks:
// each job is a child of the template taken after linking and before any initializer ran, so it
// sees fresh globals, exactly like a new process, and costs a fork of a small process. What the
// template receives is the module's code and descriptors, never a job's data: its jobs'
// arguments and states travel on each job's own channel.
//
// Linking untrusted objects happens in the template too: a linker crash costs that module, not
// the worker. The worker keeps a template while the module is linked (code_cache.h); jobs started
// from it die with it, so holders keep it alive while their jobs run.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "rexec/content_hash.h"
#include "runtime/jit/template_protocol.h"
#include "runtime/sandbox/sandbox.h"

namespace rexec {

struct ModuleTemplateOptions {
  std::string binary_path;           // rexec-module-template
  const Sandbox* sandbox = nullptr;  // null: jobs run unsandboxed (--sandbox off)
  std::chrono::milliseconds deadline = std::chrono::seconds(60);  // to start and link
  uint64_t max_message_bytes = 1 << 20;
};

class ModuleTemplate {
 public:
  using JobKind = template_protocol::JobKind;

  // Starts a template and links `object` in it, with `libraries` (jit_session.h). Blocks until
  // it is linked, so call it off the event loop. FailedPrecondition with the linker's message
  // when the object cannot be linked (e.g. "undefined symbol: foo(int)", or a library for
  // another machine); Unavailable when no template could be started.
  static absl::StatusOr<std::shared_ptr<ModuleTemplate>> Start(
      const ModuleTemplateOptions& options, const ContentHash& hash, std::string_view object,
      const std::vector<LibraryInput>& libraries = {});
  // Start in two steps, so that the module's object can be made while the template starts (its
  // exec, sandbox and JIT set-up take a few ms of another CPU): Spawn starts the process without
  // waiting for it; Link (once) waits until it is ready and links, as Start does.
  static absl::StatusOr<std::unique_ptr<ModuleTemplate>> Spawn(
      const ModuleTemplateOptions& options, const ContentHash& hash);
  absl::Status Link(const ModuleTemplateOptions& options, std::string_view object,
                    const std::vector<LibraryInput>& libraries = {});
  ~ModuleTemplate();  // ends the template, and any job still running from it
  ModuleTemplate(const ModuleTemplate&) = delete;
  ModuleTemplate& operator=(const ModuleTemplate&) = delete;

  const ContentHash& hash() const { return hash_; }
  size_t object_bytes() const { return object_bytes_; }
  bool has_main() const { return entries_.has_main; }
  bool has_command(std::string_view name) const;
  const std::vector<std::string>& command_names() const { return entries_.commands; }
  pid_t pid() const { return pid_; }
  // False once the template failed a launch; the code cache then starts a new one.
  bool healthy() const;

  // The worker's ends of a job's plumbing (template_protocol.h's ReadyJobDescriptor order),
  // closed with this unless taken.
  class JobEnds {
   public:
    using Descriptors = std::array<int, template_protocol::kReadyJobDescriptors>;
    explicit JobEnds(const Descriptors& fds) : fds_(fds) {}
    JobEnds(JobEnds&& other) noexcept : fds_(other.fds_) { other.fds_.fill(-1); }
    JobEnds& operator=(JobEnds&&) = delete;
    ~JobEnds();
    int get(template_protocol::ReadyJobDescriptor which) const { return fds_[which]; }
    int Take(template_protocol::ReadyJobDescriptor which) { return std::exchange(fds_[which], -1); }
    void Close(template_protocol::ReadyJobDescriptor which);

   private:
    Descriptors fds_;
  };

  // Launches a job of `kind` on processes the template started ahead: what fits of
  // `channel_preface` is put in its channel first (`preface_sent` says how much), then its
  // LaunchRequest goes straight to the job's process. `staging_fd` (-1: none; lent) is the
  // job's staging directory for its files, `memory_bytes` its memory limit (0: none). Returns
  // the worker's ends of the job: a pidfd of its shim (or init), which ends once the job has
  // ended and its status is in the status pipe, its streams, channel and status pipe. Call from
  // one thread at a time. It waits for the template only when no job prepared ahead is left
  // (launches faster than jobs end).
  absl::StatusOr<JobEnds> Launch(JobKind kind, uint64_t memory_bytes, int staging_fd,
                                 std::string_view channel_preface, size_t& preface_sent) const;

  // Asks the template to start processes for the jobs to come, up to ready_jobs_ahead(). Call
  // once a launched program has ended and its result has gone (an executor's replacement is
  // asked for as it is launched, since it stays): preparing a job (a clone, namespaces,
  // mounts: ~0.2-0.6 ms of kernel work that this machine's kernel does not preempt) while
  // another runs would hold a CPU that job needs.
  void ReplenishReadyJobs() const;

  // How many jobs the template keeps prepared: one, and two once a launch (not the first) had
  // to wait for its processes, as when jobs come back to back: the next one then still finds
  // one ready. A module used now and then holds one job's processes, not two.
  int ready_jobs_ahead() const;
  static constexpr int kReadyJobsAtFirst = 1;
  static constexpr int kMostReadyJobsAhead = 2;

 private:
  explicit ModuleTemplate(const ContentHash& hash) : hash_(hash) {}

  // Asks the template for one more ready job; false if it cannot be asked any more.
  bool RequestReadyJob() const;
  // ReplenishReadyJobs, with launch_mutex_ held.
  void RequestReadyJobsAhead() const;
  // The oldest ready job asked for (asking first if none was), once the template has it.
  absl::StatusOr<JobEnds> TakeReadyJob() const;

  const ContentHash hash_;
  size_t object_bytes_ = 0;
  pid_t pid_ = -1;
  int channel_ = -1;
  bool sandboxed_ = false;
  template_protocol::LinkedEntries entries_;
  mutable std::mutex launch_mutex_;
  mutable bool healthy_ = true;
  mutable int ready_jobs_asked_ = 0;  // requested, and not yet taken by a launch
  mutable int ready_jobs_wanted_ = kReadyJobsAtFirst;
  mutable bool launched_ = false;  // a launch has taken a ready job
};

}  // namespace rexec
