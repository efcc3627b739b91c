#include "rexec/client.h"

#include <capnp/rpc-twoparty.h>
#include <kj/io.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <filesystem>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "client/input_tree.h"
#include "client/queue_worker.h"
#include "client/stream_job_io.h"
#include "compiler/bitcode_cache.h"
#include "compiler/compiler_process.h"
#include "compiler/link_inputs.h"
#include "core/elapsed.h"
#include "core/event_loop_thread.h"
#include "core/host_port.h"
#include "core/tls_context.h"
#include "queue/redis_url.h"
#include "schema/rexec.capnp.h"

namespace rexec {
namespace {

// A worker's answers are bounded like a client's requests: a hostile or broken worker must not
// make the client allocate without limit.
constexpr uint64_t kMaxResponseWords = (256ull << 20) / 8;

// Input files travel in chunks of this size: neither side holds a large file whole.
constexpr size_t kFileChunkBytes = 1 << 20;
// The most hashes one findMissingFiles carries (the worker's bound).
constexpr size_t kMaxHashesPerQuery = 4096;

capnp::Data::Reader AsData(std::string_view bytes) {
  return {reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()};
}

std::string_view AsStringView(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}

std::string AsString(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

const char* StageName(wire::Failure::Stage stage) {
  switch (stage) {
    case wire::Failure::Stage::REQUEST:
      return "request";
    case wire::Failure::Stage::COMPILE:
      return "compile";
    case wire::Failure::Stage::LINK:
      return "link";
    case wire::Failure::Stage::START:
      return "start";
    case wire::Failure::Stage::INTERNAL:
      return "internal";
    case wire::Failure::Stage::LIBRARY:
      return "library";
  }
  return "internal";
}

bool IsShipped(const Library& library) { return library.kind != Library::Kind::kSystem; }

bool ShipsLibraries(const Module& module) {
  return std::any_of(module.libraries.begin(), module.libraries.end(), IsShipped);
}

void FillLibrary(const Library& library, wire::Library::Builder wire_library) {
  wire_library.setName(library.name);
  switch (library.kind) {
    case Library::Kind::kArchive:
      wire_library.setArchive(AsData(library.hash.bytes()));
      break;
    case Library::Kind::kObject:
      wire_library.setObject(AsData(library.hash.bytes()));
      break;
    case Library::Kind::kSystem:
      wire_library.setSystem();
      break;
  }
}

}  // namespace

class Client::Impl {
 public:
  Impl(ClientOptions options) : options_(std::move(options)) {
    loop_.executor().executeSync([this] { tasks_->add(DrainPosted()); });
  }

  ~Impl() {
    // Connection objects belong to the loop thread: destroy them there.
    loop_.executor().executeSync([this] {
      uploads_.clear();
      tasks_ = nullptr;  // cancels jobs still in flight
      worker_.reset();
      connection_ = nullptr;
    });
  }

  absl::Status Connect(const std::string& address) {
    description_.address = address;
    absl::StatusOr<kj::Own<kj::TlsContext>> tls = MakeTlsContext(options_.tls, TlsSide::kClient);
    if (!tls.ok()) return tls.status();
    tls_ = *std::move(tls);
    std::string server_name;  // what the worker's certificate must name
    if (tls_.get() != nullptr) {
      absl::StatusOr<HostPort> host_port = ParseHostPort(address);
      if (!host_port.ok()) return host_port.status();
      server_name = host_port->host;
    }
    return Call([this, address, server_name]() -> kj::Promise<absl::Status> {
      kj::AsyncIoContext& io = loop_.io();
      auto connected =
          io.provider->getNetwork()
              .parseAddress(address)
              .then([](kj::Own<kj::NetworkAddress> resolved) { return resolved->connect(); });
      if (tls_.get() != nullptr) {
        connected = connected.then([this, server_name](kj::Own<kj::AsyncIoStream> stream) {
          return Secure(kj::mv(stream), server_name);
        });
      }
      auto timed = io.provider->getTimer().timeoutAfter(
          options_.connect_timeout_ms * kj::MILLISECONDS, kj::mv(connected));
      return timed.then([this](kj::Own<kj::AsyncIoStream> stream) {
        connection_ = kj::heap<Connection>(kj::mv(stream));
        auto login = connection_->gateway.loginRequest();
        login.setToken(options_.token);
        worker_ = login.send().getWorker();
        kj::Promise<absl::Status> described = Describe();
        if (tls_.get() == nullptr) return described;
        return described.catch_([](kj::Exception&& exception) -> kj::Promise<absl::Status> {
          return ExplainRefusedClientCertificate(kj::mv(exception));
        });
      });
    }, absl::StrCat("cannot reach worker at ", address, tls_.get() != nullptr ? " over TLS" : ""));
  }

  // The client's TLS handshake: the worker's certificate must chain to the CA file and name
  // `server_name`.
  kj::Promise<kj::Own<kj::AsyncIoStream>> Secure(kj::Own<kj::AsyncIoStream> stream,
                                                 const std::string& server_name) {
    return tls_->wrapClient(kj::mv(stream), server_name)
        .catch_([](kj::Exception&& exception) -> kj::Own<kj::AsyncIoStream> {
          kj::throwFatalException(
              kj::Exception(exception.getType(), __FILE__, __LINE__,
                            kj::str("TLS handshake failed: ", exception.getDescription())));
        });
  }

  // In TLS 1.3 a worker that requires client certificates refuses a missing or unknown one only
  // after the client's side of the handshake has finished: the refusal arrives as a broken
  // connection on the first call (OpenSSL's alert, or a write that fails first). Answers from
  // the worker itself (a refused token) pass unchanged.
  static kj::Promise<absl::Status> ExplainRefusedClientCertificate(kj::Exception&& exception) {
    if (kj::StringPtr(exception.getFile()) == "(remote)") {
      return kj::mv(exception);
    }
    return kj::Exception(
        exception.getType(), __FILE__, __LINE__,
        kj::str("the worker ended the connection after the TLS handshake, as it does when it "
                "requires a client certificate and got none, or one its CA did not sign "
                "(--tls-cert, --tls-key): ",
                exception.getDescription()));
  }

  absl::Status ConnectQueue(const std::string& url) {
    if (!options_.tls.ca_file.empty() || !options_.tls.certificate_file.empty()) {
      return absl::InvalidArgumentError(
          "TLS options apply to a direct worker; the connection to a Redis queue is not TLS");
    }
    absl::StatusOr<RedisUrl> parsed = ParseRedisUrl(url);
    if (!parsed.ok()) return parsed.status();
    description_.address = parsed->Redacted();
    return Call([this, url]() -> kj::Promise<absl::Status> {
      QueueClientOptions queue{url, options_.queue_name, options_.queue_wait_ms};
      return ConnectQueueWorker(loop_.io(), std::move(queue))
          .then([this](kj::Own<wire::Worker::Server> queue_worker) {
            worker_ = wire::Worker::Client(kj::mv(queue_worker));
            return Describe();
          });
    }, absl::StrCat("cannot reach queue at ", description_.address));
  }

  // Asks the worker (or the queue's workers) what to compile for.
  kj::Promise<absl::Status> Describe() {
    return worker_->infoRequest().send().then(
        [this](capnp::Response<wire::Worker::InfoResults> response) {
          auto info = response.getInfo();
          description_.protocol_version = info.getProtocolVersion();
          description_.rexec_version = info.getRexecVersion();
          description_.llvm_version = info.getLlvmVersion();
          description_.triple = info.getTriple();
          description_.data_layout = info.getDataLayout();
          description_.cpu = info.getCpu();
          description_.max_module_bytes = info.getMaxModuleBytes();
          description_.max_state_bytes = info.getMaxStateBytes();
          if (description_.protocol_version != wire::PROTOCOL_VERSION) {
            return absl::FailedPreconditionError(absl::StrCat(
                "worker at ", description_.address, " speaks protocol ",
                description_.protocol_version, ", this client speaks ", wire::PROTOCOL_VERSION));
          }
          return absl::OkStatus();
        });
  }

  absl::Status Upload(const Module& module, bool* skipped) {
    return Call([this, &module, skipped]() -> kj::Promise<absl::Status> {
      return UploadIfMissing(Borrowed(module)).then([skipped](bool was_skipped) {
        if (skipped != nullptr) *skipped = was_skipped;
        return absl::OkStatus();
      });
    }, LostConnectionMessage());
  }

  absl::StatusOr<JobReport> RunProgram(const Module& module, const std::vector<std::string>& args,
                                       ProgramStreams streams, JobLimitsRequest limits,
                                       const std::string& name, const JobFiles& files) {
    if (!module.has_main) {
      return absl::InvalidArgumentError("the module has no main() to run as a program");
    }
    JobFiller fill = [&](wire::Job::Builder job) {
      FillCommon(module, limits, job);
      auto program = job.initEntry().initProgram();
      program.setName(name);
      auto list = program.initArgs(args.size());
      for (size_t i = 0; i < args.size(); ++i) list.set(i, args[i]);
      program.setNoInput(HasNoInput(streams.stdin_fd));
    };
    return RunWithFiles(module, std::move(fill), streams, files);
  }

  absl::StatusOr<JobReport> RunCommand(const Module& module, const std::string& name,
                                       const std::string& state, JobLimitsRequest limits,
                                       std::optional<ProgramStreams> streams,
                                       const JobFiles& files) {
    return RunWithFiles(module, CommandFiller(module, name, state, limits), streams, files);
  }

  void SubmitCommand(const Module& module, const std::string& name, std::string state,
                     JobLimitsRequest limits,
                     std::function<void(absl::StatusOr<JobReport>)> done) {
    std::shared_ptr<const Module> owned = Retained(module);
    auto shared_state = std::make_shared<const std::string>(std::move(state));
    Post([this, owned, name, shared_state, limits, done = std::move(done)] {
      JobFiller fill = [owned, name, shared_state, limits](wire::Job::Builder job) {
        CommandFiller(*owned, name, *shared_state, limits)(job);
      };
      std::string context = LostConnectionMessage();
      tasks_->add(kj::evalNow([&] { return RunJob(owned, std::move(fill), nullptr); })
                     .then([done](JobReport report) { done(std::move(report)); },
                           [done, context](kj::Exception&& exception) {
                             done(ToStatus(exception, context));
                           }));
    });
  }

  absl::Status Ping() {
    return Call([this]() -> kj::Promise<absl::Status> {
      return worker_->pingRequest().send().then([](auto) { return absl::OkStatus(); });
    }, LostConnectionMessage());
  }

  void SubmitPing(std::function<void(absl::Status)> done) {
    Post([this, done = std::move(done)] {
      std::string context = LostConnectionMessage();
      tasks_->add(worker_->pingRequest().send().then(
          [done](auto) { done(absl::OkStatus()); },
          [done, context](kj::Exception&& exception) { done(ToStatus(exception, context)); }));
    });
  }

  absl::StatusOr<WorkerStatistics> Stats() {
    WorkerStatistics out;
    absl::Status status = Call(
        [&]() -> kj::Promise<absl::Status> {
          return worker_->statsRequest().send().then(
              [&out](capnp::Response<wire::Worker::StatsResults> response) {
                auto stats = response.getStats();
                out.modules = stats.getModules();
                out.module_bytes = stats.getModuleBytes();
                out.module_disk_bytes = stats.getModuleDiskBytes();
                out.object_cache_hits = stats.getObjectCacheHits();
                out.object_cache_misses = stats.getObjectCacheMisses();
                out.object_cache_entries = stats.getObjectCacheEntries();
                out.object_cache_bytes = stats.getObjectCacheBytes();
                out.object_disk_bytes = stats.getObjectDiskBytes();
                out.disk_evictions = stats.getDiskEvictions();
                out.corrupt_files_removed = stats.getCorruptFilesRemoved();
                out.linked_modules = stats.getLinkedModules();
                out.compile_us = stats.getCompileUs();
                out.link_us = stats.getLinkUs();
                out.jobs_run = stats.getJobsRun();
                out.jobs_failed = stats.getJobsFailed();
                out.workers = stats.getWorkers();
                out.queue_jobs = stats.getQueueJobs();
                out.queue_garbage = stats.getQueueGarbage();
                out.queue_expired = stats.getQueueExpired();
                out.queue_reclaimed = stats.getQueueReclaimed();
                out.queue_dead_lettered = stats.getQueueDeadLettered();
                out.file_missing_checks = stats.getFileMissingChecks();
                out.file_upload_bytes = stats.getFileUploadBytes();
                out.files = stats.getFiles();
                out.file_bytes = stats.getFileBytes();
                return absl::OkStatus();
              });
        },
        LostConnectionMessage());
    if (!status.ok()) return status;
    return out;
  }

  WorkerDescription description_;
  ClientOptions options_;
  std::unique_ptr<Worker> local_worker_;

 private:
  struct Connection {
    explicit Connection(kj::Own<kj::AsyncIoStream> stream_in)
        : stream(kj::mv(stream_in)),
          network(*stream, capnp::rpc::twoparty::Side::CLIENT, ReaderOptions()),
          rpc(capnp::makeRpcClient(network)),
          gateway(Bootstrap()) {}
    static capnp::ReaderOptions ReaderOptions() {
      capnp::ReaderOptions options;
      options.traversalLimitInWords = kMaxResponseWords;
      return options;
    }
    wire::Gateway::Client Bootstrap() {
      capnp::word scratch[4];
      memset(scratch, 0, sizeof(scratch));
      capnp::MallocMessageBuilder message(scratch);
      auto vat_id = message.getRoot<capnp::rpc::twoparty::VatId>();
      vat_id.setSide(capnp::rpc::twoparty::Side::SERVER);
      return rpc.bootstrap(vat_id).castAs<wire::Gateway>();
    }
    kj::Own<kj::AsyncIoStream> stream;
    capnp::TwoPartyVatNetwork network;
    capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
    wire::Gateway::Client gateway;
  };

  std::string LostConnectionMessage() const {
    return absl::StrCat("lost connection to worker at ", description_.address);
  }

  using JobFiller = std::function<void(wire::Job::Builder)>;

  // Runs `work` on the loop thread soon, without waiting for it: Submit's hand-off. A blocking
  // executeSync per job would cost a full thread round trip each; posted work is instead
  // drained in batches, and the loop is woken only when it went idle.
  void Post(std::function<void()> work) {
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake;
    {
      std::lock_guard lock(posted_mutex_);
      posted_.push_back(std::move(work));
      wake = kj::mv(wake_);
    }
    if (wake.get() != nullptr) wake->fulfill();
  }

  kj::Promise<void> DrainPosted() {
    std::vector<std::function<void()>> batch;
    auto idle = kj::newPromiseAndCrossThreadFulfiller<void>();
    {
      std::lock_guard lock(posted_mutex_);
      batch.swap(posted_);
      if (batch.empty()) wake_ = kj::mv(idle.fulfiller);
    }
    if (batch.empty()) return idle.promise.then([this] { return DrainPosted(); });
    for (std::function<void()>& work : batch) work();
    return kj::evalLater([this] { return DrainPosted(); });
  }

  static absl::Status ToStatus(const kj::Exception& exception, const std::string& context) {
    std::string reason = exception.getDescription().cStr();
    if (exception.getType() == kj::Exception::Type::DISCONNECTED) {
      return absl::UnavailableError(absl::StrCat(context, ": ", reason));
    }
    return absl::InternalError(absl::StrCat(context, ": ", reason));
  }

  // Runs `start` on the loop thread and waits for its status; a kj exception (disconnect, a
  // worker-side error) becomes a status whose message starts with `context`.
  template <typename Start>
  absl::Status Call(Start&& start, std::string context) {
    return loop_.executor().executeSync([&]() -> kj::Promise<absl::Status> {
      return kj::evalNow([&] { return start(); })
          .catch_([context](kj::Exception&& exception) { return ToStatus(exception, context); });
    });
  }

  // A module the caller keeps alive for the duration of a synchronous call.
  static std::shared_ptr<const Module> Borrowed(const Module& module) {
    return std::shared_ptr<const Module>(std::shared_ptr<void>(), &module);
  }

  // A module kept by the client, for jobs that outlive the caller's call (Submit).
  std::shared_ptr<const Module> Retained(const Module& module) {
    std::lock_guard lock(retained_mutex_);
    std::shared_ptr<const Module>& kept = retained_[module.hash];
    if (kept == nullptr) kept = std::make_shared<const Module>(module);
    return kept;
  }

  static void FillCommon(const Module& module, JobLimitsRequest limits, wire::Job::Builder job) {
    job.setModule(AsData(module.hash.bytes()));
    auto wire_limits = job.initLimits();
    wire_limits.setWallTimeMs(limits.wall_time_ms);
    wire_limits.setMemoryBytes(limits.memory_bytes);
    wire_limits.setOutputBytes(limits.output_bytes);
    if (!module.libraries.empty()) {
      auto libraries = job.initLibraries(module.libraries.size());
      for (size_t i = 0; i < module.libraries.size(); ++i) {
        FillLibrary(module.libraries[i], libraries[i]);
      }
    }
  }

  static JobFiller CommandFiller(const Module& module, const std::string& name,
                                 const std::string& state, JobLimitsRequest limits) {
    return [&module, &name, &state, limits](wire::Job::Builder job) {
      FillCommon(module, limits, job);
      auto command = job.initEntry().initCommand();
      command.setName(name);
      command.setState(AsData(state));
    };
  }

  // Runs the job `fill` describes with `files`: inputs checked and uploaded first, outputs
  // written to files.output_directory after.
  absl::StatusOr<JobReport> RunWithFiles(const Module& module, JobFiller fill,
                                         std::optional<ProgramStreams> streams,
                                         const JobFiles& files) {
    if (files.empty()) return RunAndWait(Borrowed(module), std::move(fill), streams);
    absl::StatusOr<std::vector<InputTreeFile>> inputs = BuildInputTree(files.inputs);
    if (!inputs.ok()) return inputs.status();
    absl::StatusOr<std::vector<std::string>> outputs = CheckOutputPaths(files.outputs);
    if (!outputs.ok()) return outputs.status();
    absl::Status uploaded = Call([this, &inputs] { return UploadMissingFiles(*inputs); },
                                 LostConnectionMessage());
    if (!uploaded.ok()) return uploaded;
    JobFiller with_files = [&](wire::Job::Builder job) {
      fill(job);
      auto wire_inputs = job.initInputs(inputs->size());
      for (size_t i = 0; i < inputs->size(); ++i) {
        wire_inputs[i].setPath((*inputs)[i].path);
        wire_inputs[i].setHash(AsData((*inputs)[i].hash.bytes()));
        wire_inputs[i].setSize((*inputs)[i].size);
      }
      auto wire_outputs = job.initOutputs(outputs->size());
      for (size_t i = 0; i < outputs->size(); ++i) wire_outputs.set(i, (*outputs)[i]);
      job.setMaxOutputFileBytes(files.max_output_bytes);
    };
    absl::StatusOr<JobReport> report = RunAndWait(Borrowed(module), std::move(with_files), streams);
    if (report.ok() && !files.output_directory.empty()) {
      for (std::string& problem :
           WriteOutputFiles(report->output_files, *outputs, files.output_directory)) {
        report->output_problems.push_back(std::move(problem));
      }
    }
    return report;
  }

  absl::StatusOr<JobReport> RunAndWait(std::shared_ptr<const Module> module, JobFiller fill,
                                       std::optional<ProgramStreams> streams) {
    JobReport report;
    absl::Status status = Call(
        [&]() -> kj::Promise<absl::Status> {
          kj::Maybe<wire::JobIo::Client> io = nullptr;
          if (streams) io = wire::JobIo::Client(kj::heap<StreamJobIo>(*streams));
          return RunJob(module, std::move(fill), kj::mv(io)).then([&report](JobReport done) {
            report = std::move(done);
            return absl::OkStatus();
          });
        },
        LostConnectionMessage());
    if (!status.ok()) return status;
    return report;
  }

  // One findMissingFiles for the whole tree (per 4096 distinct files), then an upload of each
  // file the worker lacks, one after another.
  kj::Promise<absl::Status> UploadMissingFiles(const std::vector<InputTreeFile>& files) {
    auto unique = std::make_shared<std::vector<const InputTreeFile*>>();
    absl::flat_hash_map<ContentHash, const InputTreeFile*> by_hash;
    for (const InputTreeFile& file : files) {
      if (by_hash.emplace(file.hash, &file).second) unique->push_back(&file);
    }
    return AskMissing(unique, 0, std::make_shared<std::vector<const InputTreeFile*>>())
        .then([this](std::shared_ptr<std::vector<const InputTreeFile*>> missing) {
          return UploadFiles(missing, 0);
        })
        .then([] { return absl::OkStatus(); });
  }

  kj::Promise<std::shared_ptr<std::vector<const InputTreeFile*>>> AskMissing(
      std::shared_ptr<std::vector<const InputTreeFile*>> files, size_t from,
      std::shared_ptr<std::vector<const InputTreeFile*>> missing) {
    if (from >= files->size()) return missing;
    const size_t count = std::min(kMaxHashesPerQuery, files->size() - from);
    auto query = worker_->findMissingFilesRequest();
    auto list = query.initFiles(count);
    absl::flat_hash_map<ContentHash, const InputTreeFile*> asked;
    for (size_t i = 0; i < count; ++i) {
      const InputTreeFile* file = (*files)[from + i];
      list.set(i, AsData(file->hash.bytes()));
      asked.emplace(file->hash, file);
    }
    return query.send().then(
        [this, files, from, count, missing, asked = std::move(asked)](
            capnp::Response<wire::Worker::FindMissingFilesResults> response) mutable {
          for (capnp::Data::Reader hash : response.getMissing()) {
            std::optional<ContentHash> parsed = ContentHash::FromBytes(AsString(hash));
            auto found = parsed ? asked.find(*parsed) : asked.end();
            KJ_REQUIRE(found != asked.end(), "the worker named a file it was not asked about");
            missing->push_back(found->second);
          }
          return AskMissing(files, from + count, missing);
        });
  }

  kj::Promise<void> UploadFiles(std::shared_ptr<std::vector<const InputTreeFile*>> files,
                                size_t next) {
    if (next >= files->size()) return kj::READY_NOW;
    return UploadFile(*(*files)[next]).then([this, files, next] {
      return UploadFiles(files, next + 1);
    });
  }

  // Streams one file in chunks; the worker checks its size and hash when it is done.
  kj::Promise<void> UploadFile(const InputTreeFile& file) {
    int fd = open(file.source.c_str(), O_RDONLY | O_CLOEXEC);
    KJ_REQUIRE(fd >= 0, "cannot read input file", file.source.string(), strerror(errno));
    auto request = worker_->uploadFileRequest();
    request.setHash(AsData(file.hash.bytes()));
    request.setSize(file.size);
    wire::FileSink::Client sink = request.send().getSink();
    return SendChunks(sink, kj::AutoCloseFd(fd), file.size).then([sink]() mutable {
      return sink.doneRequest().send().ignoreResult();
    });
  }

  kj::Promise<void> SendChunks(wire::FileSink::Client sink, kj::AutoCloseFd fd, uint64_t left) {
    if (left == 0) return kj::READY_NOW;
    auto request = sink.writeRequest();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(left, kFileChunkBytes));
    auto data = request.initData(want);
    size_t got = 0;
    while (got < want) {
      ssize_t n = read(fd.get(), data.begin() + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      KJ_REQUIRE(n > 0, "an input file shrank while it was sent");
      got += n;
    }
    return request.send().then([this, sink, fd = kj::mv(fd), left, want]() mutable {
      return SendChunks(kj::mv(sink), kj::mv(fd), left - want);
    });
  }

  // Resolves to true when the worker already had the module and its shipped libraries; else
  // uploads what it lacks, asked in one findMissing.
  kj::Promise<bool> UploadIfMissing(std::shared_ptr<const Module> module) {
    auto query = worker_->findMissingRequest();
    std::vector<const Library*> shipped;
    for (const Library& library : module->libraries) {
      if (IsShipped(library)) shipped.push_back(&library);
    }
    auto hashes = query.initModules(1 + shipped.size());
    hashes.set(0, AsData(module->hash.bytes()));
    for (size_t i = 0; i < shipped.size(); ++i) hashes.set(i + 1, AsData(shipped[i]->hash.bytes()));
    return query.send().then([this, module = std::move(module), shipped = std::move(shipped)](
                                 capnp::Response<wire::Worker::FindMissingResults> r) {
      if (r.getMissing().size() == 0) return kj::Promise<bool>(true);
      kj::Vector<kj::Promise<void>> uploads;
      for (capnp::Data::Reader missing : r.getMissing()) {
        std::string_view hash = AsStringView(missing);
        if (hash == module->hash.bytes()) {
          uploads.add(Upload(module, module->hash, module->bitcode, "module"));
        }
        for (const Library* library : shipped) {
          if (hash == library->hash.bytes()) {
            uploads.add(Upload(module, library->hash, library->bytes, library->name));
          }
        }
      }
      return kj::joinPromises(uploads.releaseAsArray()).then([] { return false; });
    });
  }

  // After a `missingModule`: the module itself is known missing, its libraries may be held.
  kj::Promise<void> UploadForRun(std::shared_ptr<const Module> module) {
    if (ShipsLibraries(*module)) return UploadIfMissing(std::move(module)).ignoreResult();
    const ContentHash hash = module->hash;
    std::string_view bitcode = module->bitcode;
    return Upload(std::move(module), hash, bitcode, "module");
  }

  // Uploads one blob (`bytes`, which `owner` keeps alive) named `what` in messages. One upload
  // per blob at a time, however many jobs found it missing at once.
  kj::Promise<void> Upload(std::shared_ptr<const Module> owner, const ContentHash& hash,
                           std::string_view bytes, const std::string& what) {
    if (bytes.size() > description_.max_module_bytes) {
      return KJ_EXCEPTION(FAILED, kj::str(what, " (", bytes.size(),
                                          " bytes) is larger than the worker accepts (",
                                          description_.max_module_bytes, " bytes)"));
    }
    auto in_flight = uploads_.find(hash);
    if (in_flight == uploads_.end()) {
      auto upload = worker_->uploadRequest();
      upload.setHash(AsData(hash.bytes()));
      upload.setBitcode(AsData(bytes));
      kj::Promise<void> sent = upload.send().ignoreResult().attach(kj::mv(owner));
      in_flight = uploads_.emplace(hash, sent.fork()).first;
      // Forget it once done, in a later turn (never inside the fork's own continuation).
      tasks_->add(in_flight->second.addBranch().then(
          [this, hash] { uploads_.erase(hash); }, [this, hash](kj::Exception&&) {
            uploads_.erase(hash);
          }));
    }
    return in_flight->second.addBranch();
  }

  // The warm path is one round trip: run first; upload and retry once if the worker lacks it.
  kj::Promise<JobReport> RunJob(std::shared_ptr<const Module> module, JobFiller fill,
                                kj::Maybe<wire::JobIo::Client> io, bool retried = false,
                                uint64_t upload_us = 0) {
    auto started = std::chrono::steady_clock::now();
    auto request = worker_->runRequest();
    fill(request.initJob());
    KJ_IF_MAYBE(job_io, io) { request.setIo(*job_io); }
    return request.send().then(
        [this, module = std::move(module), fill = std::move(fill), io = kj::mv(io), retried,
         upload_us, started](capnp::Response<wire::Worker::RunResults> response) mutable
        -> kj::Promise<JobReport> {
          auto result = response.getResult();
          if (result.getOutcome().isMissingModule()) {
            KJ_REQUIRE(!retried, "worker lost the module right after it was uploaded");
            auto upload_started = std::chrono::steady_clock::now();
            return UploadForRun(module).then([this, module, fill = std::move(fill),
                                              io = kj::mv(io), upload_started]() mutable {
              return RunJob(std::move(module), std::move(fill), kj::mv(io), true,
                            MicrosecondsSince(upload_started));
            });
          }
          JobReport report;
          ReadResult(result, report);
          report.timings.upload_skipped = !retried;
          report.timings.upload_us = upload_us;
          report.timings.total_us = MicrosecondsSince(started) + upload_us;
          return report;
        });
  }

  static void ReadResult(wire::JobResult::Reader result, JobReport& report) {
    auto outcome = result.getOutcome();
    switch (outcome.which()) {
      case wire::JobResult::Outcome::EXITED:
        report.outcome = JobReport::Outcome::kExited;
        report.code = outcome.getExited();
        break;
      case wire::JobResult::Outcome::SIGNALED:
        report.outcome = JobReport::Outcome::kSignaled;
        report.code = outcome.getSignaled();
        break;
      case wire::JobResult::Outcome::TIMED_OUT:
        report.outcome = JobReport::Outcome::kTimedOut;
        report.time_limit_ms = outcome.getTimedOut();
        break;
      case wire::JobResult::Outcome::OUTPUT_LIMIT_EXCEEDED:
        report.outcome = JobReport::Outcome::kOutputLimitExceeded;
        report.output_limit_bytes = outcome.getOutputLimitExceeded();
        break;
      case wire::JobResult::Outcome::FAILED:
        report.outcome = JobReport::Outcome::kFailed;
        report.failure_stage = StageName(outcome.getFailed().getStage());
        report.message = outcome.getFailed().getMessage();
        break;
      case wire::JobResult::Outcome::EXCEPTION:
        report.outcome = JobReport::Outcome::kException;
        report.exception_type = outcome.getException().getType();
        report.message = outcome.getException().getWhat();
        break;
      default:
        report.outcome = JobReport::Outcome::kFailed;
        report.failure_stage = "internal";
        report.message = "the worker answered with an outcome this client does not know";
        break;
    }
    report.state = AsString(result.getState());
    report.stdout_text = AsString(result.getStdout());
    report.stderr_text = AsString(result.getStderr());
    for (auto file : result.getOutputs()) {
      report.output_files.push_back({file.getPath(), AsString(file.getData())});
    }
    for (capnp::Text::Reader problem : result.getOutputProblems()) {
      report.output_problems.emplace_back(problem);
    }
    auto timings = result.getTimings();
    report.timings.compile_us = timings.getCompileUs();
    report.timings.compile_cached = timings.getCompileCached();
    report.timings.link_us = timings.getLinkUs();
    report.timings.link_cached = timings.getLinkCached();
    report.timings.run_us = timings.getRunUs();
  }

  class TaskErrors final : public kj::TaskSet::ErrorHandler {
   public:
    void taskFailed(kj::Exception&&) override {}  // each task reports its own failure
  };

  EventLoopThread loop_;
  kj::Own<kj::TlsContext> tls_;  // null: plain TCP
  kj::Own<Connection> connection_;
  TaskErrors task_errors_;
  kj::Own<kj::TaskSet> tasks_ = kj::heap<kj::TaskSet>(task_errors_);  // loop thread only
  absl::flat_hash_map<ContentHash, kj::ForkedPromise<void>> uploads_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake_;  // set while the loop waits for work
  std::mutex retained_mutex_;
  absl::flat_hash_map<ContentHash, std::shared_ptr<const Module>> retained_;
  std::optional<wire::Worker::Client> worker_;
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const std::string& address,
                                                        ClientOptions options) {
  signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status connected = impl->Connect(address); !connected.ok()) {
    if (connected.code() == absl::StatusCode::kInternal) {
      return absl::UnavailableError(connected.message());
    }
    return connected;
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::ConnectQueue(const std::string& url,
                                                             ClientOptions options) {
  signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status connected = impl->ConnectQueue(url); !connected.ok()) {
    if (connected.code() == absl::StatusCode::kInternal) {
      return absl::UnavailableError(connected.message());
    }
    return connected;
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Local(WorkerOptions worker_options,
                                                      ClientOptions options) {
  worker_options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Worker>> worker = Worker::Start(std::move(worker_options));
  if (!worker.ok()) return worker.status();
  absl::StatusOr<std::unique_ptr<Client>> client = Connect((*worker)->address(), options);
  if (!client.ok()) return client.status();
  (*client)->impl_->local_worker_ = std::move(*worker);
  return client;
}

const WorkerDescription& Client::worker() const { return impl_->description_; }

absl::StatusOr<WorkerStatistics> Client::Stats() { return impl_->Stats(); }
absl::Status Client::Ping() { return impl_->Ping(); }
void Client::SubmitPing(std::function<void(absl::Status)> done) {
  impl_->SubmitPing(std::move(done));
}

absl::StatusOr<JobReport> Client::RunCommand(const Module& module, const std::string& name,
                                             const std::string& state, JobLimitsRequest limits) {
  return impl_->RunCommand(module, name, state, limits, std::nullopt, {});
}

absl::StatusOr<JobReport> Client::RunCommand(const Module& module, const std::string& name,
                                             const std::string& state, JobLimitsRequest limits,
                                             ProgramStreams streams, const JobFiles& files) {
  return impl_->RunCommand(module, name, state, limits, streams, files);
}

absl::StatusOr<JobReport> Client::RunCommand(const Module& module, const std::string& name,
                                             const std::string& state, JobLimitsRequest limits,
                                             const JobFiles& files) {
  return impl_->RunCommand(module, name, state, limits, std::nullopt, files);
}

void Client::SubmitCommand(const Module& module, const std::string& name, std::string state,
                           JobLimitsRequest limits,
                           std::function<void(absl::StatusOr<JobReport>)> done) {
  impl_->SubmitCommand(module, name, std::move(state), limits, std::move(done));
}

namespace {

// The bitcode cache's directory `options` name; nullopt: caching is off ("-").
std::optional<std::filesystem::path> BitcodeCacheDirectoryOf(const ClientOptions& options) {
  if (options.bitcode_cache_dir == "-") return std::nullopt;
  return options.bitcode_cache_dir.empty() ? BitcodeCache::DefaultDirectory()
                                           : std::filesystem::path(options.bitcode_cache_dir);
}

std::optional<BitcodeCache> BitcodeCacheOf(const ClientOptions& options) {
  std::optional<std::filesystem::path> directory = BitcodeCacheDirectoryOf(options);
  if (!directory) return std::nullopt;
  return BitcodeCache(*directory);
}

// Precompiled preambles live beside the bitcode cache, and are off with it.
std::string PreambleCacheDirectoryOf(const ClientOptions& options) {
  std::optional<std::filesystem::path> directory = BitcodeCacheDirectoryOf(options);
  return directory ? (*directory / "preambles").string() : std::string();
}

// What `cache` holds for `inputs` on `triple`, with their libraries; nullopt when it holds
// nothing.
std::optional<Module> LookUpCompiled(BitcodeCache& cache, LinkInputs& inputs,
                                     const std::string& triple, const ClientOptions& options,
                                     CompileReport* report) {
  std::string diagnostics;
  std::optional<Module> cached = cache.Lookup(
      {inputs.sources, inputs.flags, triple, options.color_diagnostics}, diagnostics);
  if (!cached) return std::nullopt;
  if (report != nullptr) {
    report->cache_hit = true;
    report->diagnostics += diagnostics;
  }
  cached->libraries = std::move(inputs.libraries);
  return cached;
}

}  // namespace

absl::StatusOr<Module> Client::Compile(const std::vector<std::string>& sources,
                                       const std::vector<std::string>& flags,
                                       CompileReport* report) {
  return CompileFor(impl_->description_.triple, sources, flags, impl_->options_, report);
}

absl::StatusOr<Module> Client::CompileFor(const std::string& triple,
                                          const std::vector<std::string>& sources,
                                          const std::vector<std::string>& flags,
                                          const ClientOptions& client_options,
                                          CompileReport* report) {
  absl::StatusOr<LinkInputs> link_inputs = GatherLinkInputs(sources, flags);
  if (!link_inputs.ok()) return link_inputs.status();
  std::optional<BitcodeCache> cache = BitcodeCacheOf(client_options);
  if (cache) {
    if (std::optional<Module> cached =
            LookUpCompiled(*cache, *link_inputs, triple, client_options, report)) {
      return *std::move(cached);
    }
  }
  CompileOptions options{link_inputs->sources, link_inputs->flags, triple,
                         client_options.color_diagnostics,
                         PreambleCacheDirectoryOf(client_options)};
  std::vector<std::string> inputs;
  std::string diagnostics;
  absl::StatusOr<Module> module = CompileInCompilerProcess(options, diagnostics, &inputs);
  if (report != nullptr) report->diagnostics += diagnostics;
  if (module.ok()) {
    if (cache) cache->StoreInBackground(options, *module, diagnostics, inputs);
    module->libraries = std::move(link_inputs->libraries);
  }
  if (!module.ok() && report == nullptr && !diagnostics.empty()) {
    return absl::Status(module.status().code(),
                        absl::StrCat(module.status().message(), ":\n", diagnostics));
  }
  return module;
}

absl::StatusOr<Module> Client::Load(std::string bitcode) {
  return InspectInCompilerProcess(std::move(bitcode));
}

absl::Status Client::Upload(const Module& module, bool* skipped) {
  return impl_->Upload(module, skipped);
}

absl::StatusOr<JobReport> Client::RunProgram(const Module& module,
                                             const std::vector<std::string>& args,
                                             ProgramStreams streams, JobLimitsRequest limits,
                                             const std::string& name, const JobFiles& files) {
  return impl_->RunProgram(module, args, streams, limits, name, files);
}

}  // namespace rexec
