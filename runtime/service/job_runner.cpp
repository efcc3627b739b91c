#include "runtime/service/job_runner.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/system_libraries.h"
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
        case JobOutcome::Stage::kLibrary:
          failure.setStage(wire::Failure::Stage::LIBRARY);
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

// Finds each system library the job links (-lNAME) among this worker's own; the first one
// missing, by name.
std::optional<std::string> ResolveSystemLibraries(std::vector<LinkedLibrary>& libraries) {
  for (LinkedLibrary& library : libraries) {
    if (library.kind != LinkedLibrary::Kind::kSystem) continue;
    std::optional<std::string> path = FindSystemSharedLibrary(library.name);
    if (!path) return library.name;
    library.path = *std::move(path);
  }
  return std::nullopt;
}

// Whether the store holds the module and every library shipped with it.
bool HoldsCode(WorkerState& state, const CheckedJob& job) {
  if (!state.modules.Contains(job.module)) return false;
  for (const LinkedLibrary& library : job.libraries) {
    if (library.kind != LinkedLibrary::Kind::kSystem && !state.modules.Contains(library.hash)) {
      return false;
    }
  }
  return true;
}

// The job's time limit passed while it waited for a slot: it never started, and its caller
// hears why on its stderr.
kj::Promise<void> TimedOutWaiting(WorkerState& state, const JobAdmission::Source& source,
                                  uint32_t limit_ms, JobIo& io, wire::JobResult::Builder results,
                                  BufferedJobIo* buffered) {
  std::string bounds = absl::StrCat("this worker runs at most ", state.admission.max_running(),
                                    " jobs at once");
  if (source.max_running() != 0) {
    absl::StrAppend(&bounds, ", ", source.max_running(), " per connection");
  }
  std::string note = absl::StrFormat(
      "rexec-worker: the job waited %.1f s for a slot (%s) and reached its time limit before it "
      "could start\n",
      limit_ms / 1000.0, bounds);
  auto bytes = kj::heapArray<kj::byte>(reinterpret_cast<const kj::byte*>(note.data()), note.size());
  return io.Write(OutputKind::kStderr, kj::mv(bytes)).then([&state, limit_ms, results, buffered] {
    JobOutcome outcome;
    outcome.kind = JobOutcome::Kind::kTimedOut;
    outcome.limit_ms = limit_ms;
    Finish(state, outcome, results, buffered);
  });
}

void FillOutputs(const FetchedOutputs& fetched, wire::JobResult::Builder results) {
  auto files = results.initOutputs(fetched.files.size());
  for (size_t i = 0; i < fetched.files.size(); ++i) {
    files[i].setPath(fetched.files[i].path);
    const std::string& data = fetched.files[i].data;
    files[i].setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
  }
  auto problems = results.initOutputProblems(fetched.problems.size());
  for (size_t i = 0; i < fetched.problems.size(); ++i) problems.set(i, fetched.problems[i]);
}

// Runs a job with its files: staged before `run` gets the staging directory's descriptor (-1
// without files), outputs read into the result after the job has ended.
kj::Promise<void> RunWithFiles(WorkerState& state, const JobFileRequest& files, kj::Own<JobIo> io,
                               BufferedJobIo* buffered, wire::JobResult::Builder results,
                               kj::Function<kj::Promise<JobOutcome>(JobIo&, int)> run) {
  std::unique_ptr<JobStaging> staging;
  if (!files.empty()) {
    std::optional<SandboxOwner> owner;
    if (state.sandbox != nullptr) {
      owner = SandboxOwner{state.sandbox->host_uid(), state.sandbox->host_gid()};
    }
    absl::StatusOr<std::unique_ptr<JobStaging>> prepared =
        JobStaging::Prepare(state.files, files, owner);
    if (!prepared.ok()) {
      const bool lost = prepared.status().code() == absl::StatusCode::kNotFound;
      Finish(state,
             JobOutcome::Failed(lost ? JobOutcome::Stage::kRequest : JobOutcome::Stage::kInternal,
                                absl::StrCat(prepared.status().message(),
                                             lost ? " (evicted since it was sent; send again)" : "")),
             results, buffered);
      return kj::READY_NOW;
    }
    staging = *std::move(prepared);
  }
  JobIo& job_io = *io;
  const int staging_fd = staging == nullptr ? -1 : staging->fd();
  return run(job_io, staging_fd)
      .then([&state, results, buffered, staging = std::move(staging)](JobOutcome outcome) {
        Finish(state, outcome, results, buffered);
        if (staging != nullptr) FillOutputs(staging->CollectOutputs(), results);
      })
      .attach(kj::mv(io));
}

// Gets the job's code and runs it: a program in a fresh process, a command on its module's pool.
kj::Promise<void> LoadAndRun(WorkerState& state, CheckedJob checked, kj::Own<JobIo> io,
                             BufferedJobIo* buffered, wire::JobResult::Builder results) {
  return state.code.Load(LinkRequest{checked.module, std::move(checked.libraries)}).then(
      [&state, results, limits = checked.limits, is_program = checked.is_program,
       argv = kj::mv(checked.argv), io = kj::mv(io), buffered,
       command_name = kj::mv(checked.command_name), state_bytes = kj::mv(checked.state),
       files = kj::mv(checked.files)](LoadedCode loaded) mutable -> kj::Promise<void> {
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
          if (!files.empty()) {
            CommandPool& pool_ref = *pool;
            return RunWithFiles(state, files, kj::mv(io), buffered, results,
                                [&pool_ref, command_name = kj::mv(command_name),
                                 state_bytes = kj::mv(state_bytes),
                                 limits](JobIo& job_io, int staging_fd) mutable {
                                  return pool_ref.RunAlone(kj::mv(command_name),
                                                           kj::mv(state_bytes), limits, job_io,
                                                           staging_fd);
                                })
                .attach(kj::mv(pool));
          }
          return pool->Run(command_name, kj::mv(state_bytes), limits, job_io)
              .then([&state, results, buffered](JobOutcome outcome) {
                Finish(state, outcome, results, buffered);
              })
              .attach(kj::mv(io), kj::mv(pool));
        }
        return RunWithFiles(state, files, kj::mv(io), buffered, results,
                            [&state, module = *loaded.module, argv = kj::mv(argv),
                             limits](JobIo& job_io, int staging_fd) mutable {
                              return RunProgram(state.execution, kj::mv(module), kj::mv(argv),
                                                limits, job_io, staging_fd);
                            });
      });
}

}  // namespace

kj::Promise<void> RunJob(WorkerState& state, JobAdmission::Source& source, wire::Job::Reader job,
                         kj::Own<JobIo> io, wire::JobResult::Builder results) {
  BufferedJobIo* buffered = nullptr;
  if (io.get() == nullptr) {
    auto owned = kj::heap<BufferedJobIo>();
    buffered = owned.get();
    io = kj::mv(owned);
  }
  CheckedJob checked = CheckJob(job, state.options, /*output_in_result=*/buffered != nullptr);
  // A library this worker lacks is said at once: no upload can help.
  if (std::optional<std::string> missing = ResolveSystemLibraries(checked.libraries)) {
    Finish(state,
           JobOutcome::Failed(JobOutcome::Stage::kLibrary,
                              absl::StrCat("library not found: -l", *missing)),
           results, buffered);
    return kj::READY_NOW;
  }
  // A module (or a library shipped with it) to upload first is said at once, not after a wait
  // for a slot (and again after the upload).
  if (!HoldsCode(state, checked)) {
    state.metrics.CodeLoaded(LoadedCode{absl::NotFoundError("the module is not uploaded")});
    results.initOutcome().setMissingModule();
    return kj::READY_NOW;
  }

  // Time spent waiting for a slot counts against the job's time limit: its deadline is set when
  // it arrives, not when it starts.
  kj::Timer& timer = state.execution.timer;
  const kj::TimePoint arrived = timer.now();
  const uint32_t limit_ms = checked.limits.wall_time_ms;
  // A struct, not a bare Own: kj takes a null Own for a promise's missing value.
  struct Admitted {
    kj::Own<JobAdmission::Slot> slot;  // null: the deadline came first
  };
  kj::Promise<Admitted> admitted = state.admission.Enter(source).then(
      [](kj::Own<JobAdmission::Slot> slot) { return Admitted{kj::mv(slot)}; });
  if (limit_ms != 0) {
    admitted = admitted.exclusiveJoin(
        timer.afterDelay(limit_ms * kj::MILLISECONDS).then([] { return Admitted{}; }));
  }
  return admitted.then([&state, source = kj::addRef(source), &timer, arrived, limit_ms, results,
                        buffered, checked = kj::mv(checked),
                        io = kj::mv(io)](Admitted admitted) mutable -> kj::Promise<void> {
    if (admitted.slot.get() == nullptr) {
      JobIo& job_io = *io;
      return TimedOutWaiting(state, *source, limit_ms, job_io, results, buffered)
          .attach(kj::mv(io));
    }
    if (limit_ms != 0) {
      const uint64_t waited_ms = (timer.now() - arrived) / kj::MILLISECONDS;
      checked.limits.wall_time_ms =
          waited_ms >= limit_ms ? 1 : static_cast<uint32_t>(limit_ms - waited_ms);
    }
    return LoadAndRun(state, kj::mv(checked), kj::mv(io), buffered, results)
        .then([results, limit_ms]() mutable {
          // The run had what was left of the job's time; the caller asked for the whole.
          auto outcome = results.getOutcome();
          if (outcome.isTimedOut()) outcome.setTimedOut(limit_ms);
        })
        .attach(kj::mv(admitted.slot));
  });
}

}  // namespace rexec
