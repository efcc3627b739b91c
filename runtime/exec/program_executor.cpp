#include "runtime/exec/program_executor.h"

#include <sys/wait.h>

#include <chrono>

#include "runtime/exec/child_process.h"
#include "runtime/exec/output_pump.h"

namespace rexec {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

// One program run; lives until its promise completes.
struct RunningProgram {
  kj::Own<ChildProcess> child;
  JobIo& io;
  JobLimits limits;
  OutputPump output;
  bool timed_out = false;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  RunningProgram(kj::Own<ChildProcess> child, JobIo& io, const JobLimits& limits)
      : child(kj::mv(child)), io(io), limits(limits), output(*this->child, io, limits.output_bytes) {}

  kj::Promise<void> PumpInput() {
    return io.Read(kChunkBytes).then([this](kj::Array<kj::byte> data) -> kj::Promise<void> {
      KJ_IF_MAYBE(input, child->input()) {
        if (data.size() == 0) {
          child->CloseInput();
          return kj::READY_NOW;
        }
        auto write = input->write(data.begin(), data.size()).attach(kj::mv(data));
        return write.then([this] { return PumpInput(); },
                          [this](kj::Exception&&) { child->CloseInput(); });  // EPIPE: it stopped reading
      }
      return kj::READY_NOW;
    });
  }

  JobOutcome Outcome(int status) const {
    uint64_t run_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
    return ProcessEnded(status, timed_out, output.limit_hit(), limits, run_us);
  }
};

}  // namespace

JobOutcome ProcessEnded(int wait_status, bool timed_out, bool output_limit_hit,
                        const JobLimits& limits, uint64_t run_us) {
  JobOutcome outcome;
  outcome.run_us = run_us;
  if (timed_out) {
    outcome.kind = JobOutcome::Kind::kTimedOut;
    outcome.limit_ms = limits.wall_time_ms;
  } else if (output_limit_hit) {
    outcome.kind = JobOutcome::Kind::kOutputLimitExceeded;
    outcome.output_bytes = limits.output_bytes;
  } else if (WIFSIGNALED(wait_status)) {
    outcome.kind = JobOutcome::Kind::kSignaled;
    outcome.code = WTERMSIG(wait_status);
  } else {
    outcome.kind = JobOutcome::Kind::kExited;
    outcome.code = WEXITSTATUS(wait_status);
  }
  return outcome;
}

kj::Promise<JobOutcome> RunProgram(ExecutionContext& context,
                                   std::shared_ptr<const ModuleTemplate> module,
                                   std::vector<std::string> argv, const JobLimits& limits,
                                   JobIo& io, int staging_fd) {
  if (!module->has_main()) {
    return JobOutcome::Failed(JobOutcome::Stage::kRequest,
                              "the module has no main() to run as a program");
  }
  // The arguments go to the job itself, never through its template; what fits is in the job's
  // channel before it is launched.
  auto arguments = kj::heap(template_protocol::EncodeArguments(argv));
  absl::StatusOr<kj::Own<ChildProcess>> child =
      ChildProcess::Launch(context.io, context.events, module,
                           ModuleTemplate::JobKind::kProgram, ChildLimits{limits.memory_bytes},
                           staging_fd, *arguments);
  if (!child.ok()) {
    return JobOutcome::Failed(JobOutcome::Stage::kStart, std::string(child.status().message()));
  }
  kj::Own<kj::AsyncOutputStream> channel = (*child)->TakeChannel();
  const size_t sent = (*child)->preface_sent();
  kj::Promise<void> arguments_sent = kj::READY_NOW;
  if (sent < arguments->size()) {
    arguments_sent = channel->write(arguments->data() + sent, arguments->size() - sent)
                         .attach(kj::mv(arguments), kj::mv(channel))
                         .catch_([](kj::Exception&&) {})  // the job ended first: its status says how
                         .eagerlyEvaluate(nullptr);
  }

  auto run = kj::heap<RunningProgram>(kj::mv(*child), io, limits);
  RunningProgram& job = *run;
  // A client whose stdin fails (or breaks the protocol) ends the input, never the job.
  kj::Promise<void> input_done =
      job.PumpInput().catch_([&job](kj::Exception&&) { job.child->CloseInput(); })
          .eagerlyEvaluate(nullptr);
  kj::Promise<void> watchdog = kj::NEVER_DONE;
  if (limits.wall_time_ms != 0) {
    watchdog = context.timer.afterDelay(limits.wall_time_ms * kj::MILLISECONDS)
                   .then([&job] {
                     job.timed_out = true;
                     job.child->Kill();
                   })
                   .eagerlyEvaluate(nullptr);
  }

  return job.child->OnExit()
      .then([&job](int status) {
        // What the program wrote before it ended is still in the pipes: deliver all of it, but
        // wait for nothing that a descendant might still write.
        return job.output.Finish().then([&job, status] { return job.Outcome(status); });
      })
      // An attachment outlives the promise it is attached to: the pumps go before the job.
      .attach(kj::mv(input_done), kj::mv(watchdog), kj::mv(arguments_sent))
      .attach(kj::mv(run), kj::mv(module));
}

}  // namespace rexec
