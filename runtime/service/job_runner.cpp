#include "runtime/service/job_runner.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rexec {
namespace {

constexpr size_t kMaxArgs = 4096;

std::string_view AsStringView(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}

template <typename T>
T Clamp(T requested, T fallback, T maximum) {
  T value = requested == 0 ? fallback : requested;
  if (maximum != 0 && (value == 0 || value > maximum)) value = maximum;
  return value;
}

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

std::string UnknownCommandMessage(const LinkedModule& module, const std::string& name) {
  std::vector<std::string> names = module.command_names();
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
  std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(job.getModule()));
  KJ_REQUIRE(hash.has_value(), "a module hash must be 32 bytes", job.getModule().size());
  const WorkerOptions& options = state.options;
  auto requested = job.getLimits();
  JobLimits limits{
      Clamp<uint32_t>(requested.getWallTimeMs(), options.default_wall_time_ms,
                      options.max_wall_time_ms),
      requested.getMemoryBytes() == 0 ? options.default_memory_bytes
                                      : requested.getMemoryBytes(),
      Clamp<uint64_t>(requested.getOutputBytes(), options.default_output_bytes,
                      options.max_output_bytes)};

  BufferedJobIo* buffered = nullptr;
  if (io.get() == nullptr) {
    auto owned = kj::heap<BufferedJobIo>();
    buffered = owned.get();
    io = kj::mv(owned);
    // Output that comes back inside the result is bounded by the message size.
    limits.output_bytes = limits.output_bytes == 0
                              ? options.max_buffered_output_bytes
                              : std::min(limits.output_bytes, options.max_buffered_output_bytes);
  }

  std::vector<std::string> argv;
  std::string command_name;
  std::string state_bytes;
  switch (job.getEntry().which()) {
    case wire::Job::Entry::PROGRAM: {
      auto program = job.getEntry().getProgram();
      KJ_REQUIRE(program.getArgs().size() <= kMaxArgs, "too many arguments");
      argv.push_back(program.hasName() ? std::string(program.getName().cStr()) : "program");
      for (capnp::Text::Reader arg : program.getArgs()) argv.emplace_back(arg.cStr());
      break;
    }
    case wire::Job::Entry::COMMAND: {
      auto command = job.getEntry().getCommand();
      KJ_REQUIRE(command.getState().size() <= options.max_state_bytes,
                 "command state larger than this worker accepts");
      command_name = command.getName();
      state_bytes = std::string(AsStringView(command.getState()));
      break;
    }
    default:
      KJ_FAIL_REQUIRE("unknown job entry: the client speaks a newer protocol");
  }
  const bool is_program = job.getEntry().isProgram();

  return state.code.Load(*hash).then(
      [&state, results, limits, is_program, argv = kj::mv(argv), io = kj::mv(io), buffered,
       command_name = kj::mv(command_name),
       state_bytes = kj::mv(state_bytes)](LoadedCode loaded) mutable -> kj::Promise<void> {
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
          const std::shared_ptr<const LinkedModule>& module = *loaded.module;
          if (module->command(command_name) == nullptr) {
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
