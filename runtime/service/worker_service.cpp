#include "runtime/service/worker_service.h"

#include <capnp/message.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/service/request_checks.h"
#include "runtime/service/worker_description.h"

namespace rexec {
namespace {

constexpr size_t kMaxHashesPerQuery = 4096;
constexpr uint32_t kMaxStdinChunk = 1 << 20;
constexpr size_t kMaxFileChunk = 4 << 20;

std::string_view AsStringView(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}

// The time a wrong token takes to refuse reveals nothing of the right one, not even its length:
// both are hashed (time that depends on each token's own length only) and the fixed-size
// digests compared without an early exit.
bool TokensEqual(std::string_view presented, std::string_view expected) {
  const ContentHash presented_hash = ContentHash::Of(presented);
  const ContentHash expected_hash = ContentHash::Of(expected);
  std::string_view a = presented_hash.bytes();
  std::string_view b = expected_hash.bytes();
  unsigned char difference = 0;
  for (size_t i = 0; i < ContentHash::kSize; ++i) difference |= a[i] ^ b[i];
  return difference == 0;
}

// Streams a job's output to the client's JobIo capability and pulls its stdin from it, unless
// the client said it has none (Program.noInput).
class RemoteJobIo final : public JobIo {
 public:
  RemoteJobIo(wire::JobIo::Client io, bool has_input) : io_(kj::mv(io)), has_input_(has_input) {}

  kj::Promise<void> Write(OutputKind kind, kj::Array<kj::byte> data) override {
    auto request = io_.writeRequest();
    request.setStream(kind == OutputKind::kStdout ? wire::OutputStream::STDOUT
                                                  : wire::OutputStream::STDERR);
    request.setData(data);
    return request.send();
  }

  kj::Promise<kj::Array<kj::byte>> Read(size_t max_bytes) override {
    if (!has_input_) return kj::Array<kj::byte>();  // the end of input
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
  const bool has_input_;
};

// One input file on its way in (Worker.uploadFile): chunks go straight to disk (store/file_store.h).
class FileSinkImpl final : public wire::FileSink::Server {
 public:
  FileSinkImpl(WorkerState& state, std::unique_ptr<FileStore::Upload> upload)
      : state_(state), upload_(std::move(upload)) {}

  kj::Promise<void> write(WriteContext context) override {
    KJ_REQUIRE(upload_ != nullptr, "the upload has ended");
    capnp::Data::Reader data = context.getParams().getData();
    KJ_REQUIRE(data.size() <= kMaxFileChunk, "a file chunk larger than this worker accepts",
               data.size(), kMaxFileChunk);
    state_.counters.file_upload_bytes += data.size();
    absl::Status written = upload_->Write(AsStringView(data));
    if (!written.ok()) {
      upload_ = nullptr;
      KJ_FAIL_REQUIRE(std::string(written.message()));
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> done(DoneContext) override {
    KJ_REQUIRE(upload_ != nullptr, "the upload has ended");
    absl::Status finished = upload_->Finish();
    upload_ = nullptr;
    KJ_REQUIRE(finished.ok(), std::string(finished.message()));
    return kj::READY_NOW;
  }

 private:
  WorkerState& state_;
  std::unique_ptr<FileStore::Upload> upload_;  // null once ended
};

class WorkerImpl final : public wire::Worker::Server {
 public:
  WorkerImpl(WorkerState& state, ClientConnection& connection)
      : state_(state), connection_(connection) {}

  kj::Promise<void> info(InfoContext context) override {
    FillWorkerInfo(state_, context.getResults().initInfo());
    return kj::READY_NOW;
  }

  kj::Promise<void> findMissing(FindMissingContext context) override {
    auto modules = context.getParams().getModules();
    KJ_REQUIRE(modules.size() <= kMaxHashesPerQuery, "too many hashes in one query");
    std::vector<capnp::Data::Reader> missing;
    for (capnp::Data::Reader module : modules) {
      if (!state_.modules.Contains(RequireModuleHash(module))) missing.push_back(module);
    }
    auto list = context.getResults().initMissing(missing.size());
    for (size_t i = 0; i < missing.size(); ++i) list.set(i, missing[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> findMissingFiles(FindMissingFilesContext context) override {
    auto files = context.getParams().getFiles();
    KJ_REQUIRE(files.size() <= kMaxHashesPerQuery, "too many hashes in one query");
    ++state_.counters.file_missing_checks;
    std::vector<capnp::Data::Reader> missing;
    for (capnp::Data::Reader file : files) {
      std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(file));
      KJ_REQUIRE(hash.has_value(), "a file hash must be 32 bytes", file.size());
      if (!state_.files.Contains(*hash)) missing.push_back(file);
    }
    auto list = context.getResults().initMissing(missing.size());
    for (size_t i = 0; i < missing.size(); ++i) list.set(i, missing[i]);
    return kj::READY_NOW;
  }

  kj::Promise<void> uploadFile(UploadFileContext context) override {
    auto params = context.getParams();
    std::optional<ContentHash> hash = ContentHash::FromBytes(AsStringView(params.getHash()));
    KJ_REQUIRE(hash.has_value(), "a file hash must be 32 bytes", params.getHash().size());
    absl::StatusOr<std::unique_ptr<FileStore::Upload>> upload =
        state_.files.StartUpload(*hash, params.getSize());
    KJ_REQUIRE(upload.ok(), std::string(upload.status().message()));
    context.getResults().setSink(kj::heap<FileSinkImpl>(state_, *std::move(upload)));
    return kj::READY_NOW;
  }

  kj::Promise<void> upload(UploadContext context) override {
    auto params = context.getParams();
    ContentHash hash =
        CheckUpload(params.getHash(), params.getBitcode(), state_.options.max_module_bytes);
    auto blob = std::make_shared<const std::string>(AsStringView(params.getBitcode()));
    if (absl::Status stored = state_.modules.Put(hash, std::move(blob)); !stored.ok()) {
      KJ_LOG(WARNING, "module kept in memory only", std::string(stored.message()));
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> run(RunContext context) override {
    // A client that goes away (or cancels) takes its job with it: the child is killed.
    context.allowCancellation();
    auto params = context.getParams();
    kj::Own<JobIo> io;
    if (params.hasIo()) {
      wire::Job::Reader job = params.getJob();
      const bool no_input = job.getEntry().isProgram() && job.getEntry().getProgram().getNoInput();
      io = kj::heap<RemoteJobIo>(params.getIo(), !no_input);
    }
    return state_.calls.wrap(RunJob(state_, connection_.jobs(), params.getJob(), kj::mv(io),
                                    context.getResults().initResult())
                                 .attach(connection_.StartCall()));
  }

  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }

  kj::Promise<void> stats(StatsContext context) override {
    FillWorkerStats(state_, context.getResults().initStats());
    return kj::READY_NOW;
  }

 private:
  WorkerState& state_;
  ClientConnection& connection_;
};

class GatewayImpl final : public wire::Gateway::Server {
 public:
  GatewayImpl(WorkerState& state, ClientConnection& connection, LoginThrottle& throttle)
      : state_(state), connection_(connection), throttle_(throttle) {}

  kj::Promise<void> login(LoginContext context) override {
    if (state_.options.token.empty()) return Admit(context);
    kj::StringPtr token_text = context.getParams().getToken();
    std::string token(token_text.cStr(), token_text.size());
    context.releaseParams();
    const std::string& host = connection_.peer_host();
    return state_.calls.wrap(throttle_.Turn(host).then(
        [this, context, token = std::move(token), &host](bool turn) mutable -> kj::Promise<void> {
          if (!turn) {
            return kj::Exception(
                kj::Exception::Type::OVERLOADED, __FILE__, __LINE__,
                kj::str("too many failed logins from ", host, "; try again later"));
          }
          if (TokensEqual(token, state_.options.token)) {
            throttle_.Succeeded(host);
            return Admit(context);
          }
          uint64_t failures = throttle_.Failed(host);
          // Neither token goes into the message or the log: the message travels to the
          // client, and both may be kept.
          kj::StringPtr reason =
              token.empty() ? "this worker requires a token (rexec-send --token-file FILE)"
                            : "this worker refused the token presented";
          KJ_LOG(WARNING, "refused a login", connection_.peer(),
                 token.empty() ? "no token" : "wrong token", failures);
          return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::str(reason));
        }));
  }

 private:
  kj::Promise<void> Admit(LoginContext& context) {
    connection_.LoggedIn();
    context.getResults().setWorker(kj::heap<WorkerImpl>(state_, connection_));
    return kj::READY_NOW;
  }

  WorkerState& state_;
  ClientConnection& connection_;
  LoginThrottle& throttle_;
};

}  // namespace

kj::Own<wire::Gateway::Server> MakeGateway(WorkerState& state, ClientConnection& connection,
                                           LoginThrottle& throttle) {
  return kj::heap<GatewayImpl>(state, connection, throttle);
}

}  // namespace rexec
