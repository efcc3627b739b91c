#include "runtime/service/job_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/service/request_checks.h"

namespace rexec {
namespace {

void FillOutcome(const JobOutcome& outcome, wire::JobResult::Builder result) {
  auto set = result.initOutcome();
  switch (outcome.kind) {
    case JobOutcome::Kind::kExited:
      set.setExited(outcome.code);
      break;
    case JobOutcome::Kind::kSignaled:
      set.setSignaled(outcome.code);
      break;
    case JobOutcome::Kind::kTimedOut:
      set.setTimedOut(outcome.limit_ms);
      break;
    case JobOutcome::Kind::kOutputLimitExceeded:
      set.setOutputLimitExceeded(outcome.output_bytes);
      break;
    case JobOutcome::Kind::kException: {
      auto exception = set.initException();
      exception.setType(outcome.exception_type);
      exception.setWhat(outcome.message);
      break;
    }
    case JobOutcome::Kind::kFailed: {
      auto failure = set.initFailed();
      failure.setMessage(outcome.message);
      switch (outcome.stage) {
        case JobOutcome::Stage::kRequest:
          failure.setStage(wire::Failure::Stage::REQUEST);
          break;
        case JobOutcome::Stage::kCompile:
          failure.setStage(wire::Failure::Stage::COMPILE);
          break;
        case JobOutcome::Stage::kLink:
          failure.setStage(wire::Failure::Stage::LINK);
          break;
        case JobOutcome::Stage::kStart:
          failure.setStage(wire::Failure::Stage::START);
          break;
        case JobOutcome::Stage::kInternal:
          failure.setStage(wire::Failure::Stage::INTERNAL);
          break;
      }
      break;
    }
  }
  if (!outcome.state.empty()) {
    result.setState(kj::arrayPtr(reinterpret_cast<const kj::byte*>(outcome.state.data()),
                                 outcome.state.size()));
  }
}

std::string UnknownCommandMessage(const ModuleTemplate& module, const std::string& name) {
  const std::vector<std::string>& names = module.command_names();
  if (names.empty()) return absl::StrCat("the module defines no commands (asked for '", name, "')");
  return absl::StrCat("the module has no command named '", name,
                      "'; it has: ", absl::StrJoin(names, ", "));
}

// A failure to get runnable code, as the outcome the client sees.
JobOutcome LoadFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return JobOutcome::Failed(JobOutcome::Stage::kCompile, std::string(status.message()));
    case absl::StatusCode::kFailedPrecondition:
      return JobOutcome::Failed(JobOutcome::Stage::kLink, std::string(status.message()));
    default:
      return JobOutcome::Failed(JobOutcome::Stage::kInternal, std::string(status.message()));
  }
}

// Fills a finished job's result; output comes from `buffered` when the job had no JobIo.
void Finish(WorkerState& state, const JobOutcome& outcome, wire::JobResult::Builder results,
            BufferedJobIo* buffered) {
  ++(outcome.kind == JobOutcome::Kind::kFailed ? state.counters.jobs_failed
                                               : state.counters.jobs_run);
  state.metrics.JobEnded(outcome);
  FillOutcome(outcome, results);
  results.getTimings().setRunUs(outcome.run_us);
  if (buffered != nullptr) {
    auto bytes = [](const std::string& text) {
      return kj::arrayPtr(reinterpret_cast<const kj::byte*>(text.data()), text.size());
    };
    results.setStdout(bytes(buffered->stdout_text()));
    results.setStderr(bytes(buffered->stderr_text()));
  }
}

}  // namespace

kj::Promise<void> RunJob(WorkerState& state, wire::Job::Reader job, kj::Own<JobIo> io,
                         wire::JobResult::Builder results) {
  BufferedJobIo* buffered = nullptr;
  if (io.get() == nullptr) {
    auto owned = kj::heap<BufferedJobIo>();
    buffered = owned.get();
    io = kj::mv(owned);
  }
  CheckedJob checked = CheckJob(job, state.options, /*output_in_result=*/buffered != nullptr);

  return state.code.Load(checked.module).then(
      [&state, results, limits = checked.limits, is_program = checked.is_program,
       argv = kj::mv(checked.argv), io = kj::mv(io), buffered,
       command_name = kj::mv(checked.command_name),
       state_bytes = kj::mv(checked.state)](LoadedCode loaded) mutable -> kj::Promise<void> {
        auto timings = results.initTimings();
        timings.setCompileUs(loaded.compile_us);
        timings.setLinkUs(loaded.link_us);
        timings.setCompileCached(loaded.compile_cached);
        timings.setLinkCached(loaded.link_cached);
        state.metrics.CodeLoaded(loaded);
        if (!loaded.module.ok()) {
          if (loaded.module.status().code() == absl::StatusCode::kNotFound) {
            results.initOutcome().setMissingModule();
          } else {
            Finish(state, LoadFailure(loaded.module.status()), results, buffered);
          }
          return kj::READY_NOW;
        }
        JobIo& job_io = *io;
        if (!is_program) {
          const std::shared_ptr<const ModuleTemplate>& module = *loaded.module;
          if (!module->has_command(command_name)) {
            Finish(state,
                   JobOutcome::Failed(JobOutcome::Stage::kRequest,
                                      UnknownCommandMessage(*module, command_name)),
                   results, buffered);
            return kj::READY_NOW;
          }
          std::shared_ptr<CommandPool> pool = state.command_pools.For(module);
          return pool->Run(command_name, kj::mv(state_bytes), limits, job_io)
              .then([&state, results, buffered](JobOutcome outcome) {
                Finish(state, outcome, results, buffered);
              })
              .attach(kj::mv(io), kj::mv(pool));
        }
        return RunProgram(state.execution, *loaded.module, kj::mv(argv), limits, job_io)
            .then([&state, results, buffered](JobOutcome outcome) {
              Finish(state, outcome, results, buffered);
            })
            .attach(kj::mv(io));
      });
}

}  // namespace rexec
