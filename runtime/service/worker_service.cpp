#include "runtime/service/worker_service.h"

#include <capnp/message.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rexec/build_config.h"

namespace rexec {
namespace {

constexpr size_t kMaxHashesPerQuery = 4096;
constexpr size_t kMaxArgs = 4096;
constexpr uint32_t kMaxStdinChunk = 1 << 20;

std::string_view AsStringView(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}

ContentHash RequireHash(capnp::Data::Reader data) {
  std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(data));
  KJ_REQUIRE(hash.has_value(), "a module hash must be 32 bytes", data.size());
  return *hash;
}

// Constant-time, so a wrong token's timing reveals nothing of the right one.
bool TokensEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference |= a[i] ^ b[i];
  return difference == 0;
}

template <typename T>
T Clamp(T requested, T fallback, T maximum) {
  T value = requested == 0 ? fallback : requested;
  if (maximum != 0 && (value == 0 || value > maximum)) value = maximum;
  return value;
}

// Streams a job's output to the client's JobIo capability and pulls its stdin from it.
class RemoteJobIo final : public JobIo {
 public:
  explicit RemoteJobIo(wire::JobIo::Client io) : io_(kj::mv(io)) {}

  kj::Promise<void> Write(OutputKind kind, kj::Array<kj::byte> data) override {
    auto request = io_.writeRequest();
    request.setStream(kind == OutputKind::kStdout ? wire::OutputStream::STDOUT
                                                  : wire::OutputStream::STDERR);
    request.setData(data);
    return request.send();
  }

  kj::Promise<kj::Array<kj::byte>> Read(size_t max_bytes) override {
    auto request = io_.readRequest();
    request.setMaxBytes(static_cast<uint32_t>(std::min<size_t>(max_bytes, kMaxStdinChunk)));
    return request.send().then([max_bytes](capnp::Response<wire::JobIo::ReadResults> response) {
      capnp::Data::Reader data = response.getData();
      KJ_REQUIRE(data.size() <= max_bytes, "stdin chunk larger than requested");
      return kj::heapArray<kj::byte>(data.begin(), data.size());
    });
  }

 private:
  wire::JobIo::Client io_;
};

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

class WorkerImpl final : public wire::Worker::Server {
 public:
  explicit WorkerImpl(WorkerState& state) : state_(state) {}

  kj::Promise<void> info(InfoContext context) override {
    auto info = context.getResults().initInfo();
    const TargetDescription& target = state_.code.target();
    info.setProtocolVersion(wire::PROTOCOL_VERSION);
    info.setRexecVersion(kRexecVersion);
    info.setLlvmVersion(kLlvmVersion);
    info.setTriple(target.triple);
    info.setDataLayout(target.data_layout);
    info.setCpu(target.cpu);
    info.setMaxModuleBytes(state_.options.max_module_bytes);
    info.setMaxStateBytes(state_.options.max_state_bytes);
    return kj::READY_NOW;
  }

  kj::Promise<void> findMissing(FindMissingContext context) override {
    auto modules = context.getParams().getModules();
    KJ_REQUIRE(modules.size() <= kMaxHashesPerQuery, "too many hashes in one query");
    std::vector<capnp::Data::Reader> missing;
    for (capnp::Data::Reader module : modules) {
      if (!state_.modules.Contains(RequireHash(module))) missing.push_back(module);
    }
    auto list = context.getResults().initMissing(missing.size());
    for (size_t i = 0; i < missing.size(); ++i) list.set(i, missing[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> upload(UploadContext context) override {
    auto params = context.getParams();
    ContentHash claimed = RequireHash(params.getHash());
    capnp::Data::Reader bitcode = params.getBitcode();
    KJ_REQUIRE(bitcode.size() <= state_.options.max_module_bytes,
               "module larger than this worker accepts", bitcode.size(),
               state_.options.max_module_bytes);
    auto blob = std::make_shared<const std::string>(AsStringView(bitcode));
    ContentHash actual = ContentHash::Of(*blob);
    KJ_REQUIRE(actual == claimed, "uploaded bitcode does not match its hash", claimed.hex(),
               actual.hex());
    if (absl::Status stored = state_.modules.Put(actual, std::move(blob)); !stored.ok()) {
      KJ_LOG(WARNING, "module kept in memory only", std::string(stored.message()));
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> run(RunContext context) override {
    // A client that goes away (or cancels) takes its job with it: the child is killed.
    context.allowCancellation();
    auto params = context.getParams();
    auto job = params.getJob();
    ContentHash hash = RequireHash(job.getModule());
    const WorkerOptions& options = state_.options;
    auto requested = job.getLimits();
    JobLimits limits{
        Clamp<uint32_t>(requested.getWallTimeMs(), options.default_wall_time_ms,
                        options.max_wall_time_ms),
        requested.getMemoryBytes() == 0 ? options.default_memory_bytes
                                        : requested.getMemoryBytes(),
        Clamp<uint64_t>(requested.getOutputBytes(), options.default_output_bytes,
                        options.max_output_bytes)};

    kj::Own<JobIo> io;
    BufferedJobIo* buffered = nullptr;
    if (params.hasIo()) {
      io = kj::heap<RemoteJobIo>(params.getIo());
    } else {
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
    std::string state;
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
        state = std::string(AsStringView(command.getState()));
        break;
      }
      default:
        KJ_FAIL_REQUIRE("unknown job entry: the client speaks a newer protocol");
    }
    const bool is_program = job.getEntry().isProgram();

    return state_.code.Load(hash).then(
        [this, context, limits, is_program, argv = kj::mv(argv), io = kj::mv(io), buffered,
         command_name = kj::mv(command_name),
         state = kj::mv(state)](LoadedCode loaded) mutable -> kj::Promise<void> {
          auto results = context.getResults().initResult();
          auto timings = results.initTimings();
          timings.setCompileUs(loaded.compile_us);
          timings.setLinkUs(loaded.link_us);
          timings.setCompileCached(loaded.compile_cached);
          timings.setLinkCached(loaded.link_cached);
          if (!loaded.module.ok()) {
            if (loaded.module.status().code() == absl::StatusCode::kNotFound) {
              results.initOutcome().setMissingModule();
            } else {
              ++state_.counters.jobs_failed;
              FillOutcome(LoadFailure(loaded.module.status()), results);
            }
            return kj::READY_NOW;
          }
          if (!is_program) {
            const std::shared_ptr<const LinkedModule>& module = *loaded.module;
            if (module->command(command_name) == nullptr) {
              ++state_.counters.jobs_failed;
              FillOutcome(JobOutcome::Failed(JobOutcome::Stage::kRequest,
                                             UnknownCommandMessage(*module, command_name)),
                          results);
              return kj::READY_NOW;
            }
            std::shared_ptr<CommandPool> pool = state_.command_pools.For(module);
            JobIo& job_io = *io;
            return pool->Run(command_name, kj::mv(state), limits, job_io)
                .then([this, context, buffered](JobOutcome outcome) mutable {
                  Finish(outcome, context.getResults().getResult(), buffered);
                })
                .attach(kj::mv(io), kj::mv(pool));
          }
          JobIo& job_io = *io;
          return RunProgram(state_.execution, *loaded.module, kj::mv(argv), limits, job_io)
              .then([this, context, buffered](JobOutcome outcome) mutable {
                Finish(outcome, context.getResults().getResult(), buffered);
              })
              .attach(kj::mv(io));
        });
  }

  // Fills a finished job's result; output comes from `buffered` when the job had no JobIo.
  void Finish(const JobOutcome& outcome, wire::JobResult::Builder results,
              BufferedJobIo* buffered) {
    ++(outcome.kind == JobOutcome::Kind::kFailed ? state_.counters.jobs_failed
                                                 : state_.counters.jobs_run);
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

  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }

  kj::Promise<void> stats(StatsContext context) override {
    auto stats = context.getResults().initStats();
    BlobStoreStats modules = state_.modules.stats();
    BlobStoreStats objects = state_.objects.stats();
    CodeCacheStats code = state_.code.stats();
    stats.setModules(modules.memory_entries);
    stats.setModuleBytes(modules.memory_bytes);
    stats.setObjectCacheHits(code.object_hits);
    stats.setObjectCacheMisses(code.object_misses);
    stats.setObjectCacheBytes(objects.memory_bytes);
    stats.setObjectCacheEntries(objects.memory_entries);
    stats.setCompileUs(code.compile_us);
    stats.setLinkUs(code.link_us);
    stats.setJobsRun(state_.counters.jobs_run);
    stats.setJobsFailed(state_.counters.jobs_failed);
    stats.setLinkedModules(code.linked_modules);
    stats.setModuleDiskBytes(modules.disk_bytes);
    stats.setObjectDiskBytes(objects.disk_bytes);
    stats.setDiskEvictions(modules.disk_evictions + objects.disk_evictions);
    stats.setCorruptFilesRemoved(modules.corrupt_files_removed + objects.corrupt_files_removed);
    return kj::READY_NOW;
  }

 private:
  WorkerState& state_;
};

class GatewayImpl final : public wire::Gateway::Server {
 public:
  explicit GatewayImpl(WorkerState& state) : state_(state) {}

  kj::Promise<void> login(LoginContext context) override {
    kj::StringPtr token_text = context.getParams().getToken();
    std::string_view token(token_text.cStr(), token_text.size());
    KJ_REQUIRE(state_.options.token.empty() || TokensEqual(token, state_.options.token),
               "wrong token");
    context.getResults().setWorker(kj::heap<WorkerImpl>(state_));
    return kj::READY_NOW;
  }

 private:
  WorkerState& state_;
};

}  // namespace

kj::Own<wire::Gateway::Server> MakeGateway(WorkerState& state) {
  return kj::heap<GatewayImpl>(state);
}

}  // namespace rexec
