// Runs command jobs of one module on a pool of warm executor processes.
//
// A command job is a function call, not a program: forking per job (about a millisecond) would
// cost more than the job. Each executor is forked once from the module's template
// (jit/module_template.h), runs the module's initializers, then serves jobs one at a time
// (command_executor.h).
// The pool starts executors on demand up to its size, queues jobs beyond that, and replaces an
// executor that crashed, called exit() or hit a limit. The worker never trusts an executor's
// answer: sizes are bounded and a malformed answer ends that executor.
#pragma once

#include <kj/async-io.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/exec/job_io.h"
#include "runtime/exec/job_outcome.h"
#include "runtime/exec/program_executor.h"

namespace rexec {

class CommandPool {
 public:
  CommandPool(ExecutionContext& context, std::shared_ptr<const ModuleTemplate> module,
              size_t max_executors, uint64_t max_state_bytes);
  ~CommandPool() noexcept(false);

  // Output is streamed to `io` while the job runs.
  kj::Promise<JobOutcome> Run(std::string name, std::string state, const JobLimits& limits,
                              JobIo& io);

  // A job with files gets an executor of its own, started with the job's staging directory
  // (exec/job_files.h) and ended with the job: the pool's warm executors share one working
  // directory between jobs. Resolves once the executor has ended, so its init has copied the
  // job's outputs out.
  kj::Promise<JobOutcome> RunAlone(std::string name, std::string state, const JobLimits& limits,
                                   JobIo& io, int staging_fd);

  size_t live_executors() const { return live_; }

 private:
  struct Executor;
  struct Job;

  kj::Promise<kj::Own<Executor>> Acquire();
  void Release(kj::Own<Executor> executor);
  void Retire(kj::Own<Executor> executor);
  void ExecutorGone();
  absl::StatusOr<kj::Own<Executor>> Spawn(int staging_fd = -1);
  kj::Promise<JobOutcome> RunOn(Executor& executor, Job& job);

  ExecutionContext& context_;
  std::shared_ptr<const ModuleTemplate> module_;
  const size_t max_executors_;
  const uint64_t max_state_bytes_;
  size_t live_ = 0;  // executors alive, idle or running a job
  bool closing_ = false;
  std::vector<kj::Own<Executor>> idle_;
  std::deque<kj::Own<kj::PromiseFulfiller<kj::Own<Executor>>>> waiting_;
};

// The pools of the modules whose commands ran recently, at most `max_pools` (least recently used
// go first; a pool's running jobs keep it alive until they end).
class CommandPoolSet {
 public:
  CommandPoolSet(ExecutionContext& context, size_t max_pools, size_t executors_per_pool,
                 uint64_t max_state_bytes);

  std::shared_ptr<CommandPool> For(const std::shared_ptr<const ModuleTemplate>& module);

  // Executor processes alive in the pools kept here.
  size_t live_executors() const;

 private:
  struct Entry {
    std::shared_ptr<CommandPool> pool;
    uint64_t last_use;
  };
  ExecutionContext& context_;
  const size_t max_pools_;
  const size_t executors_per_pool_;
  const uint64_t max_state_bytes_;
  uint64_t clock_ = 0;
  std::map<const ModuleTemplate*, Entry> pools_;
};

}  // namespace rexec
