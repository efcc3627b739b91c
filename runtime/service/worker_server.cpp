#include "runtime/service/worker_server.h"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>
#include <kj/vector.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/exec/child_runtime.h"
#include "runtime/service/metrics_server.h"
#include "runtime/service/queue_consumer.h"
#include "runtime/service/worker_metrics.h"
#include "runtime/service/worker_service.h"

namespace rexec {
namespace {

struct HostPort {
  std::string host;
  uint32_t port = 0;
};

absl::StatusOr<HostPort> ParseListenAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address '", address, "' must be HOST:PORT"));
  }
  HostPort result{address.substr(0, colon), 0};
  if (!absl::SimpleAtoi(address.substr(colon + 1), &result.port) || result.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in listen address '", address, "'"));
  }
  if (result.host.size() >= 2 && result.host.front() == '[' && result.host.back() == ']') {
    result.host = result.host.substr(1, result.host.size() - 2);
  }
  if (result.host.empty()) result.host = "127.0.0.1";
  return result;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

class LoggingErrorHandler final : public kj::TaskSet::ErrorHandler {
 public:
  void taskFailed(kj::Exception&& exception) override {
    if (exception.getType() != kj::Exception::Type::DISCONNECTED) {
      KJ_LOG(WARNING, "connection ended with an error", exception);
    }
  }
};

}  // namespace

std::string DefaultCacheDirectory() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return absl::StrCat(xdg, "/rexec");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return absl::StrCat(home, "/.cache/rexec");
  }
  return "/tmp/rexec-cache";
}

struct WorkerServer::State {
  WorkerOptions options;
  kj::AsyncIoContext& io;
  std::unique_ptr<BlobStore> modules;
  std::unique_ptr<BlobStore> objects;
  CodeCache code;
  ExecutionContext execution;
  CommandPoolSet command_pools;
  WorkerMetrics metrics;
  WorkerState worker_state;
  capnp::Capability::Client gateway;
  std::unique_ptr<QueueConsumer> queue;
  std::unique_ptr<MetricsServer> metrics_server;
  capnp::ReaderOptions reader_options;
  kj::Own<kj::ConnectionReceiver> listener;
  std::string address;
  int port = 0;
  LoggingErrorHandler error_handler;
  kj::TaskSet connections{error_handler};

  // Bitcode gets a quarter of each budget: objects are larger, and costlier to rebuild.
  static BlobStoreOptions StoreOptions(const WorkerOptions& options, const char* subdirectory,
                                       double share) {
    BlobStoreOptions store;
    if (options.cache_dir != "-") {
      std::string root = options.cache_dir.empty() ? DefaultCacheDirectory() : options.cache_dir;
      store.directory = std::filesystem::path(root) / subdirectory;
    }
    store.max_memory_bytes = static_cast<uint64_t>(options.max_memory_cache_bytes * share);
    // At least a byte: a store's share of a tiny bound must not round down to "unbounded".
    store.max_disk_bytes =
        options.max_disk_cache_bytes == 0
            ? 0
            : std::max<uint64_t>(1, static_cast<uint64_t>(options.max_disk_cache_bytes * share));
    store.max_blob_bytes = options.max_module_bytes * 4;  // objects can outgrow their bitcode
    return store;
  }

  State(const WorkerOptions& worker_options, kj::AsyncIoContext& io_context,
        std::unique_ptr<BlobStore> module_store, std::unique_ptr<BlobStore> object_store)
      : options(worker_options),
        io(io_context),
        modules(std::move(module_store)),
        objects(std::move(object_store)),
        code(*modules, *objects, options.max_linked_modules, ChildRuntimeSymbols()),
        execution{*io.lowLevelProvider, io.unixEventPort, io.provider->getTimer()},
        command_pools(execution, options.max_linked_modules, ExecutorsPerModule(options),
                      options.max_state_bytes),
        worker_state{options, *modules, *objects, code, execution, command_pools, metrics, {}},
        gateway(MakeGateway(worker_state)) {
    metrics.Watch(worker_state);
    // An upload is the largest message: its bitcode plus a little framing.
    reader_options.traversalLimitInWords = options.max_module_bytes / 8 + (1 << 20);
  }

  static size_t ExecutorsPerModule(const WorkerOptions& options) {
    if (options.executors_per_module != 0) return options.executors_per_module;
    unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 2 : cores;
  }

  kj::Promise<void> Serve(kj::Own<kj::AsyncIoStream> stream) {
    auto network = kj::heap<capnp::TwoPartyVatNetwork>(
        *stream, capnp::rpc::twoparty::Side::SERVER, reader_options);
    auto rpc = kj::heap(capnp::makeRpcServer(*network, gateway));
    // One attachment each: an outer attachment outlives an inner one, and the RPC system must
    // go before the network it talks through, the network before its stream.
    return network->onDisconnect()
        .attach(kj::mv(rpc))
        .attach(kj::mv(network))
        .attach(kj::mv(stream));
  }

  kj::Promise<void> AcceptLoop() {
    // evalNow: kj's accept() can also throw at once (EMFILE), not only reject later.
    return kj::evalNow([this] { return listener->accept(); })
        .then(
        [this](kj::Own<kj::AsyncIoStream>&& connection) {
          connections.add(Serve(kj::mv(connection)));
          return AcceptLoop();
        },
        [this](kj::Exception&& exception) {
          // Out of descriptors (or memory): refuse for a moment instead of dying, so the
          // connections already open can finish and free theirs.
          KJ_LOG(WARNING, "cannot accept a connection; retrying shortly", exception);
          return io.provider->getTimer().afterDelay(100 * kj::MILLISECONDS).then([this] {
            return AcceptLoop();
          });
        });
  }
};

WorkerServer::WorkerServer(std::unique_ptr<State> state) : state_(std::move(state)) {}
WorkerServer::~WorkerServer() = default;

const std::string& WorkerServer::address() const { return state_->address; }
int WorkerServer::port() const { return state_->port; }

absl::StatusOr<std::unique_ptr<WorkerServer>> WorkerServer::Listen(const WorkerOptions& options,
                                                                   kj::AsyncIoContext& io) {
  if (options.listen_address.empty() && options.queue_url.empty()) {
    return absl::InvalidArgumentError("a worker needs an address to listen on, a queue, or both");
  }
  std::optional<HostPort> host_port;
  if (!options.listen_address.empty()) {
    absl::StatusOr<HostPort> parsed = ParseListenAddress(options.listen_address);
    if (!parsed.ok()) return parsed.status();
    if (!IsLoopback(parsed->host) && options.token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to listen on ", parsed->host,
          " without a token: anyone who can reach it could run code here (give a token, or "
          "listen on 127.0.0.1)"));
    }
    host_port = *parsed;
  }
  // A cache directory that cannot be used is an error now, not a worker quietly without one.
  absl::StatusOr<std::unique_ptr<BlobStore>> modules =
      BlobStore::Open(State::StoreOptions(options, "modules", 0.25));
  if (!modules.ok()) return modules.status();
  absl::StatusOr<std::unique_ptr<BlobStore>> objects =
      BlobStore::Open(State::StoreOptions(options, "objects", 0.75));
  if (!objects.ok()) return objects.status();
  // A child writing to a closed pipe must not take the worker down with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<State> state;
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                state = std::make_unique<State>(options, io, *std::move(modules),
                                                *std::move(objects));
                if (host_port.has_value()) {
                  auto address = io.provider->getNetwork()
                                     .parseAddress(host_port->host, host_port->port)
                                     .wait(io.waitScope);
                  state->listener = address->listen();
                }
              })) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address, ": ",
                                               exception->getDescription().cStr()));
  }
  if (!options.queue_url.empty()) {
    absl::StatusOr<std::unique_ptr<QueueConsumer>> queue =
        QueueConsumer::Create(state->worker_state, io);
    if (!queue.ok()) return queue.status();
    state->queue = *std::move(queue);
  }
  if (!options.metrics_address.empty()) {
    State* raw = state.get();
    absl::StatusOr<std::unique_ptr<MetricsServer>> metrics =
        MetricsServer::Listen(io.provider->getNetwork(), io.provider->getTimer(),
                              options.metrics_address, [raw] { return raw->metrics.Render(); });
    if (!metrics.ok()) return metrics.status();
    state->metrics_server = *std::move(metrics);
  }
  if (host_port.has_value()) {
    state->port = static_cast<int>(state->listener->getPort());
    state->address = host_port->host.find(':') != std::string::npos
                         ? absl::StrCat("[", host_port->host, "]:", state->port)
                         : absl::StrCat(host_port->host, ":", state->port);
  }
  return std::unique_ptr<WorkerServer>(new WorkerServer(std::move(state)));
}

kj::Promise<void> WorkerServer::Run() {
  kj::Promise<void> accepting = state_->listener.get() != nullptr
                                    ? state_->AcceptLoop()
                                    : kj::Promise<void>(kj::NEVER_DONE);
  kj::Vector<kj::Promise<void>> doors;
  doors.add(kj::mv(accepting));
  if (state_->queue != nullptr) doors.add(state_->queue->Run());
  if (state_->metrics_server != nullptr) doors.add(state_->metrics_server->Run());
  return kj::joinPromises(doors.releaseAsArray());
}

std::string WorkerServer::metrics_address() const {
  return state_->metrics_server == nullptr ? std::string() : state_->metrics_server->address();
}

std::string WorkerServer::QueueDescription() const {
  return state_->queue == nullptr ? std::string() : state_->queue->Description();
}

}  // namespace rexec
