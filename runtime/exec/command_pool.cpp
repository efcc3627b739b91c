#include "runtime/exec/command_pool.h"

#include <kj/debug.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/elapsed.h"
#include "runtime/exec/child_process.h"
#include "runtime/exec/command_protocol.h"
#include "runtime/exec/output_pump.h"

namespace rexec {
namespace {

using command_protocol::RequestHeader;
using command_protocol::ResponseHeader;
using command_protocol::Status;

constexpr uint64_t kMaxExceptionTextBytes = 1 << 20;
// How long an executor of its own may take to end once its job has answered (its exit
// handlers run, its init copies the outputs out) before it is killed.
constexpr auto kAloneExitGrace = 10 * kj::SECONDS;

// What an executor answered for one job.
struct Answer {
  JobOutcome outcome;
  uint32_t flags = 0;  // command_protocol::kRetireExecutor, kOutputLeft
};

Answer Malformed(ChildProcess& executor, const char* why) {
  executor.Kill();
  return {JobOutcome::Failed(JobOutcome::Stage::kInternal, why),
          command_protocol::kRetireExecutor};
}

Answer DecodeAnswer(const ResponseHeader& header, kj::ArrayPtr<const char> body,
                    std::string_view command, ChildProcess& executor) {
  const char* cursor = body.begin();
  auto take = [&cursor](uint64_t bytes) {
    std::string piece(cursor, bytes);
    cursor += bytes;
    return piece;
  };
  Answer answer;
  answer.flags = header.flags;
  JobOutcome& outcome = answer.outcome;
  outcome.state = take(header.state_bytes);
  outcome.exception_type = take(header.type_bytes);
  outcome.message = take(header.message_bytes);
  switch (header.status) {
    case Status::kOk:
      outcome.kind = JobOutcome::Kind::kExited;
      outcome.code = header.code;
      break;
    case Status::kException:
      outcome.kind = JobOutcome::Kind::kException;
      break;
    case Status::kBadState:
      outcome = JobOutcome::Failed(JobOutcome::Stage::kRequest, outcome.message);
      break;
    case Status::kUnknownCommand:
      outcome = JobOutcome::Failed(
          JobOutcome::Stage::kRequest,
          absl::StrCat("the module has no command named '", std::string(command), "'"));
      break;
    default:
      return Malformed(executor, "the command executor sent an unknown status");
  }
  return answer;
}

// Reads one job's answer; none if the executor ended first. The worker trusts nothing in it:
// sizes are bounded, and a malformed answer ends the executor.
kj::Promise<kj::Maybe<Answer>> ReadAnswer(kj::AsyncInputStream& answers, ChildProcess& executor,
                                          uint64_t max_state_bytes, std::string_view command) {
  // One read takes a header and a body of up to this size.
  constexpr size_t kFirstReadBytes = 4096;
  auto buffer = kj::heapArray<char>(kFirstReadBytes);
  char* first = buffer.begin();
  return answers.tryRead(first, sizeof(ResponseHeader), kFirstReadBytes)
      .then(
          [&answers, &executor, max_state_bytes, command, buffer = kj::mv(buffer)](
              size_t got) mutable -> kj::Promise<kj::Maybe<Answer>> {
            if (got < sizeof(ResponseHeader)) return kj::Maybe<Answer>(nullptr);  // it died
            ResponseHeader header;
            std::memcpy(&header, buffer.begin(), sizeof header);
            const bool bounded = header.magic == command_protocol::kResponseMagic &&
                                 header.state_bytes <= max_state_bytes &&
                                 header.type_bytes <= kMaxExceptionTextBytes &&
                                 header.message_bytes <= kMaxExceptionTextBytes;
            const size_t body_bytes =
                bounded ? header.state_bytes + header.type_bytes + header.message_bytes : 0;
            // One job at a time: nothing may follow its answer.
            if (!bounded || got > sizeof header + body_bytes) {
              return kj::Maybe<Answer>(
                  Malformed(executor, "the command executor sent a malformed answer"));
            }
            const size_t have = got - sizeof header;
            if (have == body_bytes) {
              return kj::Maybe<Answer>(DecodeAnswer(
                  header, buffer.slice(sizeof header, got), command, executor));
            }
            auto body = kj::heapArray<char>(body_bytes);
            std::memcpy(body.begin(), buffer.begin() + sizeof header, have);
            char* rest = body.begin() + have;
            return answers.tryRead(rest, body_bytes - have, body_bytes - have)
                .then([&executor, header, have, command,
                       body = kj::mv(body)](size_t more) -> kj::Maybe<Answer> {
                  if (have + more < body.size()) return nullptr;  // it died mid-answer
                  return DecodeAnswer(header, body, command, executor);
                });
          },
          // A read error: the executor is gone.
          [](kj::Exception&&) { return kj::Maybe<Answer>(nullptr); });
}
}  // namespace

struct CommandPool::Executor {
  // An executor's place in the pool. However the executor goes (retired, idle at the pool's
  // end, or dropped with a cancelled job), its place is free again once its process is gone:
  // declared first, so destroyed last.
  struct Seat {
    explicit Seat(CommandPool& pool) : pool(pool) { ++pool.live_; }
    ~Seat() noexcept(false) { pool.ExecutorGone(); }
    CommandPool& pool;
  };

  explicit Executor(CommandPool& pool) : seat(pool) {}

  Seat seat;
  kj::Own<ChildProcess> process;
  kj::Own<kj::AsyncOutputStream> requests;  // its channel
  kj::Own<kj::AsyncInputStream> answers;
  kj::ForkedPromise<int> exit = nullptr;  // the wait status, once it ends
  kj::Promise<void> watch = nullptr;      // sets `dead` if it ends while idle
  bool dead = false;
};

struct CommandPool::Job {
  std::string name;
  std::string state;
  JobLimits limits;
  JobIo& io;
  bool timed_out = false;
  bool executor_healthy = false;  // may serve the next job
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

CommandPool::CommandPool(ExecutionContext& context, std::shared_ptr<const ModuleTemplate> module,
                         size_t max_executors, uint64_t max_state_bytes)
    : context_(context),
      module_(std::move(module)),
      max_executors_(std::max<size_t>(1, max_executors)),
      max_state_bytes_(max_state_bytes) {}

CommandPool::~CommandPool() noexcept(false) {
  closing_ = true;
  idle_.clear();
  for (auto& waiter : waiting_) {
    waiter->reject(KJ_EXCEPTION(DISCONNECTED, "the worker is unloading this module"));
  }
}

absl::StatusOr<kj::Own<CommandPool::Executor>> CommandPool::Spawn(int staging_fd) {
  absl::StatusOr<kj::Own<ChildProcess>> child =
      ChildProcess::Launch(context_.io, context_.events, module_,
                           ModuleTemplate::JobKind::kExecutor, ChildLimits{}, staging_fd);
  if (!child.ok()) return child.status();
  auto executor = kj::heap<Executor>(*this);
  executor->process = kj::mv(*child);
  executor->requests = executor->process->TakeChannel();
  executor->answers = executor->process->TakeAnswers();
  executor->exit = executor->process->OnExit().fork();
  Executor* raw = executor.get();
  executor->watch = executor->exit.addBranch()
                        .then([raw](int) { raw->dead = true; }, [](kj::Exception&&) {})
                        .eagerlyEvaluate(nullptr);
  return executor;
}

kj::Promise<kj::Own<CommandPool::Executor>> CommandPool::Acquire() {
  while (!idle_.empty()) {
    kj::Own<Executor> executor = kj::mv(idle_.back());
    idle_.pop_back();
    if (!executor->dead) return kj::mv(executor);
    Retire(kj::mv(executor));
  }
  if (live_ < max_executors_) {
    absl::StatusOr<kj::Own<Executor>> spawned = Spawn();
    if (!spawned.ok()) {
      return KJ_EXCEPTION(FAILED, "cannot start a command executor",
                          std::string(spawned.status().message()));
    }
    return kj::mv(*spawned);
  }
  auto waiter = kj::newPromiseAndFulfiller<kj::Own<Executor>>();
  waiting_.push_back(kj::mv(waiter.fulfiller));
  return kj::mv(waiter.promise);
}

void CommandPool::Release(kj::Own<Executor> executor) {
  if (executor->dead) return Retire(kj::mv(executor));
  while (!waiting_.empty()) {
    auto waiter = kj::mv(waiting_.front());
    waiting_.pop_front();
    if (waiter->isWaiting()) return waiter->fulfill(kj::mv(executor));
  }
  idle_.push_back(kj::mv(executor));
}

void CommandPool::Retire(kj::Own<Executor> executor) {
  executor = nullptr;  // kills the process if it still runs; ExecutorGone() follows
}

void CommandPool::ExecutorGone() {
  --live_;
  if (closing_) return;
  // Its place is free: a queued job gets a new executor.
  while (!waiting_.empty() && live_ < max_executors_) {
    auto waiter = kj::mv(waiting_.front());
    waiting_.pop_front();
    if (!waiter->isWaiting()) continue;
    absl::StatusOr<kj::Own<Executor>> spawned = Spawn();
    if (spawned.ok()) {
      waiter->fulfill(kj::mv(*spawned));
    } else {
      waiter->reject(KJ_EXCEPTION(FAILED, "cannot start a command executor",
                                  std::string(spawned.status().message())));
    }
  }
}

kj::Promise<JobOutcome> CommandPool::Run(std::string name, std::string state,
                                         const JobLimits& limits, JobIo& io) {
  auto job = kj::heap<Job>(Job{kj::mv(name), kj::mv(state), limits, io});
  Job& job_ref = *job;
  // The time limit covers the wait for an executor too.
  kj::Promise<kj::Own<Executor>> acquired = Acquire();
  if (limits.wall_time_ms != 0) {
    acquired = acquired.exclusiveJoin(
        context_.timer.afterDelay(limits.wall_time_ms * kj::MILLISECONDS)
            .then([&job_ref]() -> kj::Promise<kj::Own<Executor>> {
              job_ref.timed_out = true;
              return KJ_EXCEPTION(OVERLOADED, "no executor of this module became free in time");
            }));
  }
  return acquired
      .then(
          [this, &job_ref](kj::Own<Executor> executor) {
            Executor& executor_ref = *executor;
            return RunOn(executor_ref, job_ref)
                .then([this, &job_ref, executor = kj::mv(executor)](JobOutcome outcome) mutable {
                  if (job_ref.executor_healthy) {
                    Release(kj::mv(executor));
                  } else {
                    Retire(kj::mv(executor));
                  }
                  return outcome;
                });
          },
          [&job_ref](kj::Exception&& exception) {
            if (job_ref.timed_out) {
              JobOutcome outcome;
              outcome.kind = JobOutcome::Kind::kTimedOut;
              outcome.limit_ms = job_ref.limits.wall_time_ms;
              outcome.message = exception.getDescription().cStr();
              return outcome;
            }
            return JobOutcome::Failed(JobOutcome::Stage::kStart,
                                      exception.getDescription().cStr());
          })
      .attach(kj::mv(job));
}

kj::Promise<JobOutcome> CommandPool::RunAlone(std::string name, std::string state,
                                              const JobLimits& limits, JobIo& io,
                                              int staging_fd) {
  absl::StatusOr<kj::Own<Executor>> spawned = Spawn(staging_fd);
  if (!spawned.ok()) {
    return JobOutcome::Failed(JobOutcome::Stage::kStart,
                              absl::StrCat("cannot start a command executor: ",
                                           spawned.status().message()));
  }
  auto job = kj::heap<Job>(Job{kj::mv(name), kj::mv(state), limits, io});
  Executor& executor = **spawned;
  return RunOn(executor, *job)
      .then([this, &executor](JobOutcome outcome) {
        // Closing its channel ends it, as the end of a connection ends any executor.
        executor.requests = nullptr;
        Executor* raw = &executor;
        return executor.exit.addBranch()
            .ignoreResult()
            .exclusiveJoin(context_.timer.afterDelay(kAloneExitGrace).then([raw] {
              raw->process->Kill();
              return raw->exit.addBranch().ignoreResult();
            }))
            .catch_([](kj::Exception&&) {})
            .then([outcome = kj::mv(outcome)]() mutable { return kj::mv(outcome); });
      })
      .attach(kj::mv(job), kj::mv(*spawned));
}

kj::Promise<JobOutcome> CommandPool::RunOn(Executor& executor, Job& job) {
  RequestHeader request;
  request.name_bytes = static_cast<uint32_t>(job.name.size());
  request.state_bytes = job.state.size();
  request.memory_bytes = job.limits.memory_bytes;
  auto frame = kj::heapArray<kj::byte>(sizeof request + job.name.size() + job.state.size());
  std::memcpy(frame.begin(), &request, sizeof request);
  std::memcpy(frame.begin() + sizeof request, job.name.data(), job.name.size());
  std::memcpy(frame.begin() + sizeof request + job.name.size(), job.state.data(),
              job.state.size());

  kj::Promise<void> watchdog = kj::NEVER_DONE;
  if (job.limits.wall_time_ms != 0) {
    // What is left of the limit after the wait for this executor.
    const uint64_t waited_ms = MicrosecondsSince(job.started) / 1000;
    const uint64_t left_ms = job.limits.wall_time_ms > waited_ms
                                 ? job.limits.wall_time_ms - waited_ms
                                 : 1;
    watchdog = context_.timer.afterDelay(left_ms * kj::MILLISECONDS)
                   .then([&executor, &job] {
                     job.timed_out = true;
                     executor.process->Kill();
                   })
                   .eagerlyEvaluate(nullptr);
  }

  // Between jobs an executor's pipes are empty: the previous job's were read to the end.
  auto output = kj::heap<OutputPump>(*executor.process, job.io, job.limits.output_bytes,
                                     OutputPump::Pipes::kEmpty);
  OutputPump& output_ref = *output;
  kj::Promise<kj::Maybe<Answer>> answered =
      executor.requests->write(frame.begin(), frame.size())
          .attach(kj::mv(frame))
          .then(
              [this, &executor, &job] {
                return ReadAnswer(*executor.answers, *executor.process, max_state_bytes_,
                                  job.name);
              },
              // A write error: the executor is gone.
              [](kj::Exception&&) { return kj::Maybe<Answer>(nullptr); });

  return answered
      .then([&executor, &job, &output_ref](kj::Maybe<Answer> answer) -> kj::Promise<JobOutcome> {
        KJ_IF_MAYBE(given, answer) {
          // The executor flushed before it answered: the rest of this job's output, if any, is
          // in the pipes now.
          const OutputPump::Pipes left = (given->flags & command_protocol::kOutputLeft) != 0
                                             ? OutputPump::Pipes::kMayHoldOutput
                                             : OutputPump::Pipes::kEmpty;
          job.executor_healthy = (given->flags & command_protocol::kRetireExecutor) == 0;
          return output_ref.Finish(left).then(
              [&executor, &job, &output_ref, outcome = kj::mv(given->outcome)]() mutable
              -> kj::Promise<JobOutcome> {
                if (!output_ref.limit_hit()) {
                  outcome.run_us = MicrosecondsSince(job.started);
                  return kj::mv(outcome);
                }
                // The pump killed it for its output, possibly after it had answered.
                job.executor_healthy = false;
                return executor.exit.addBranch().then([&job](int status) {
                  return ProcessEnded(status, job.timed_out, true, job.limits,
                                      MicrosecondsSince(job.started));
                });
              });
        }
        // No answer: the executor died (crash, exit(), a limit, or our timeout). Once it has,
        // everything it wrote is in the pipes.
        job.executor_healthy = false;
        return executor.exit.addBranch().then([&job, &output_ref](int status) {
          return output_ref.Finish().then([&job, &output_ref, status] {
            return ProcessEnded(status, job.timed_out, output_ref.limit_hit(), job.limits,
                                MicrosecondsSince(job.started));
          });
        });
      })
      .attach(kj::mv(watchdog), kj::mv(output));
}

CommandPoolSet::CommandPoolSet(ExecutionContext& context, size_t max_pools,
                               size_t executors_per_pool, uint64_t max_state_bytes)
    : context_(context),
      max_pools_(std::max<size_t>(1, max_pools)),
      executors_per_pool_(executors_per_pool),
      max_state_bytes_(max_state_bytes) {}

std::shared_ptr<CommandPool> CommandPoolSet::For(
    const std::shared_ptr<const ModuleTemplate>& module) {
  auto it = pools_.find(module.get());
  if (it == pools_.end()) {
    if (pools_.size() >= max_pools_) {
      auto oldest = std::min_element(pools_.begin(), pools_.end(), [](const auto& a, const auto& b) {
        return a.second.last_use < b.second.last_use;
      });
      pools_.erase(oldest);
    }
    auto pool =
        std::make_shared<CommandPool>(context_, module, executors_per_pool_, max_state_bytes_);
    it = pools_.emplace(module.get(), Entry{std::move(pool), 0}).first;
  }
  it->second.last_use = ++clock_;
  return it->second.pool;
}

}  // namespace rexec

namespace rexec {

size_t CommandPoolSet::live_executors() const {
  size_t live = 0;
  for (const auto& [module, entry] : pools_) live += entry.pool->live_executors();
  return live;
}

}  // namespace rexec
