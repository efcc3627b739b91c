#include "runtime/service/worker_server.h"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>
#include <arpa/inet.h>
#include <kj/vector.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/host_port.h"
#include "core/tls_context.h"
#include "runtime/sandbox/sandbox.h"
#include "runtime/service/client_connections.h"
#include "runtime/service/connection_refusal.h"
#include "runtime/service/job_admission.h"
#include "runtime/service/login_throttle.h"
#include "runtime/service/metrics_server.h"
#include "runtime/service/queue_consumer.h"
#include "runtime/service/tls_acceptor.h"
#include "runtime/service/worker_metrics.h"
#include "runtime/service/worker_service.h"

namespace rexec {
namespace {

// One line for the operator: what keeps strangers from running code through this listener.
std::string DescribeProtection(const WorkerOptions& options) {
  const bool tls = !options.tls.certificate_file.empty();
  std::vector<std::string> required;
  if (!options.tls.ca_file.empty()) required.push_back("client certificate");
  if (!options.token.empty()) required.push_back("token");
  if (!required.empty()) {
    return absl::StrCat(tls ? "TLS, " : "plain TCP, ", absl::StrJoin(required, " and "),
                        " required");
  }
  return tls ? "TLS, no client check (loopback only)" : "none (loopback only)";
}

// Refused connections still being told why, at most: beyond, a refused connection is closed at
// once, so refusing cannot itself use up the descriptors it keeps in reserve.
constexpr size_t kMaxRefusing = 16;

// The peer of an accepted connection: "127.0.0.1:40122" (or "[::1]:40122"), and its host part.
std::pair<std::string, std::string> PeerAddress(kj::AsyncIoStream& stream) {
  sockaddr_storage address{};
  kj::uint length = sizeof(address);
  char host[INET6_ADDRSTRLEN] = "";
  auto* generic = reinterpret_cast<sockaddr*>(&address);
  if (kj::runCatchingExceptions([&] { stream.getpeername(generic, &length); }) == nullptr) {
    if (address.ss_family == AF_INET) {
      const auto& ipv4 = reinterpret_cast<const sockaddr_in&>(address);
      inet_ntop(AF_INET, &ipv4.sin_addr, host, sizeof(host));
      return {absl::StrCat(host, ":", ntohs(ipv4.sin_port)), host};
    }
    if (address.ss_family == AF_INET6) {
      const auto& ipv6 = reinterpret_cast<const sockaddr_in6&>(address);
      inet_ntop(AF_INET6, &ipv6.sin6_addr, host, sizeof(host));
      return {absl::StrCat("[", host, "]:", ntohs(ipv6.sin6_port)), host};
    }
  }
  return {"unknown peer", "unknown peer"};
}

// Connections get at most half the descriptors this process can still open, so that a crowd of
// them leaves room for jobs, caches and the next connection: when accept() itself fails for
// want of a descriptor, the client it would have served waits in the backlog, untold.
size_t ConnectionBudget(size_t requested) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return requested;
  std::error_code error;
  std::filesystem::directory_iterator fds("/proc/self/fd", error);
  const size_t open = error ? 0 : std::distance(begin(fds), end(fds));
  const size_t spare = limit.rlim_cur > open ? limit.rlim_cur - open : 0;
  const size_t budget = std::max<size_t>(1, std::min(requested, spare / 2));
  if (budget < requested) {
    std::fprintf(stderr,
                 "rexec-worker: at most %zu connections at once, not %zu: the file descriptor "
                 "limit (%llu) leaves no more room\n",
                 budget, requested, static_cast<unsigned long long>(limit.rlim_cur));
  }
  return budget;
}

// An upload is the largest message: its bitcode plus a little framing.
capnp::ReaderOptions ReaderOptionsOf(const WorkerOptions& options) {
  capnp::ReaderOptions reader_options;
  reader_options.traversalLimitInWords = options.max_module_bytes / 8 + (1 << 20);
  return reader_options;
}

ConnectionLimits LimitsOf(const WorkerOptions& options) {
  ConnectionLimits limits;
  limits.max_message = ReaderOptionsOf(options).traversalLimitInWords * 8;
  limits.max_connections = ConnectionBudget(options.max_connections);
  limits.login_timeout = options.login_timeout_ms * kj::MILLISECONDS;
  limits.idle_timeout = options.idle_timeout_ms * kj::MILLISECONDS;
  limits.max_jobs_per_connection = options.max_jobs_per_connection;
  return limits;
}

size_t MaxJobs(const WorkerOptions& options) {
  if (options.max_jobs != 0) return options.max_jobs;
  return 4 * std::max(1u, std::thread::hardware_concurrency());
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

namespace {

// The sandbox jobs will run in, or null when the operator turned it off. Where the kernel cannot
// sandbox, the worker says so and serves only what is local: jobs from the network or a queue
// would run with the worker's own rights.
absl::StatusOr<std::unique_ptr<Sandbox>> StartSandbox(const WorkerOptions& options,
                                                      const std::optional<HostPort>& listen) {
  if (!options.sandbox) {
    std::fprintf(stderr,
                 "rexec-worker: SANDBOX OFF: jobs run as this worker's user, with its files, "
                 "processes and network\n");
    return nullptr;
  }
  SandboxOptions sandbox_options;
  sandbox_options.scratch_bytes = options.job_scratch_bytes;
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create(sandbox_options);
  if (sandbox.ok()) return sandbox;
  const bool only_local = options.queue_url.empty() && (!listen || IsLoopbackHost(listen->host));
  if (!only_local) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this kernel cannot sandbox jobs (", sandbox.status().message(),
        "); refusing to serve beyond loopback: give --sandbox off to run them unsandboxed"));
  }
  std::fprintf(stderr, "rexec-worker: no sandbox on this kernel (%s): jobs run as this worker's user\n",
               std::string(sandbox.status().message()).c_str());
  return nullptr;
}

}  // namespace

struct WorkerServer::State {
  WorkerOptions options;
  kj::AsyncIoContext& io;
  std::unique_ptr<Sandbox> sandbox;  // null when off or unavailable
  std::unique_ptr<BlobStore> modules;
  std::unique_ptr<BlobStore> objects;
  std::unique_ptr<BlobStore> targets;
  std::unique_ptr<FileStore> files;
  CodeCache code;
  ExecutionContext execution;
  CommandPoolSet command_pools;
  JobAdmission admission;
  WorkerMetrics metrics;
  WorkerState worker_state;
  LoginThrottle login_throttle;
  ConnectionTable connection_table;
  size_t refusing = 0;
  std::unique_ptr<QueueConsumer> queue;
  std::unique_ptr<MetricsServer> metrics_server;
  const capnp::ReaderOptions reader_options = ReaderOptionsOf(options);
  kj::Own<kj::ConnectionReceiver> listener;
  std::unique_ptr<TlsAcceptor> tls;  // null: the listener speaks plain TCP
  std::string protection;
  std::string address;
  int port = 0;
  LoggingErrorHandler error_handler;
  kj::TaskSet connections{error_handler};

  // Where a store keeps `subdirectory` of the cache directory on disk; none with --cache-dir -.
  static std::optional<std::filesystem::path> CacheSubdirectory(const WorkerOptions& options,
                                                                const char* subdirectory) {
    if (options.cache_dir == "-") return std::nullopt;
    std::string root = options.cache_dir.empty() ? DefaultCacheDirectory() : options.cache_dir;
    return std::filesystem::path(root) / subdirectory;
  }

  // Bitcode gets a quarter of each budget: objects are larger, and costlier to rebuild.
  static BlobStoreOptions StoreOptions(const WorkerOptions& options, const char* subdirectory,
                                       double share) {
    BlobStoreOptions store;
    store.directory = CacheSubdirectory(options, subdirectory);
    store.max_memory_bytes = static_cast<uint64_t>(options.max_memory_cache_bytes * share);
    // At least a byte: a store's share of a tiny bound must not round down to "unbounded".
    store.max_disk_bytes =
        options.max_disk_cache_bytes == 0
            ? 0
            : std::max<uint64_t>(1, static_cast<uint64_t>(options.max_disk_cache_bytes * share));
    store.max_blob_bytes = options.max_module_bytes * 4;  // objects can outgrow their bitcode
    return store;
  }

  State(const WorkerOptions& worker_options, const ConnectionLimits& connection_limits,
        kj::AsyncIoContext& io_context, std::unique_ptr<Sandbox> job_sandbox,
        std::unique_ptr<BlobStore> module_store, std::unique_ptr<BlobStore> object_store,
        std::unique_ptr<BlobStore> target_store, std::unique_ptr<FileStore> file_store)
      : options(worker_options),
        io(io_context),
        sandbox(std::move(job_sandbox)),
        modules(std::move(module_store)),
        objects(std::move(object_store)),
        targets(std::move(target_store)),
        files(std::move(file_store)),
        code(*modules, *objects, options.max_linked_modules, sandbox.get(), targets.get()),
        execution{*io.lowLevelProvider, io.unixEventPort, io.provider->getTimer()},
        command_pools(execution, options.max_linked_modules, ExecutorsPerModule(options),
                      options.max_state_bytes),
        admission(MaxJobs(options)),
        worker_state{options,   *modules,      *objects,  *files,  sandbox.get(), code,
                     execution, command_pools, admission, metrics, {}},
        login_throttle(io.provider->getTimer(), connection_limits.login_timeout),
        connection_table(connection_limits, io.provider->getTimer(), admission) {
    metrics.Watch(worker_state);
  }

  // Client calls still running end now, while all they refer to (this state, their
  // connection's record) is alive: the RPC system's own tasks outlive it (job_runner.h).
  ~State() { worker_state.calls.cancel("the worker is stopping"); }

  // The compile server's target description, remembered between starts (jit/remembered_target.h):
  // a few entries of a few hundred bytes.
  static BlobStoreOptions TargetStoreOptions(const WorkerOptions& options) {
    BlobStoreOptions store;
    store.directory = CacheSubdirectory(options, "targets");
    store.max_memory_bytes = store.max_disk_bytes = 1 << 20;
    store.max_blob_bytes = 64 << 10;
    return store;
  }

  // Input files go to disk even without a disk cache: a temporary directory then.
  static FileStoreOptions FileStoreOptionsOf(const WorkerOptions& options) {
    FileStoreOptions store;
    store.directory = CacheSubdirectory(options, "files");
    store.max_bytes = options.max_file_store_bytes;
    store.max_file_bytes = options.max_input_bytes;
    return store;
  }

  static size_t ExecutorsPerModule(const WorkerOptions& options) {
    if (options.executors_per_module != 0) return options.executors_per_module;
    unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 2 : cores;
  }

  kj::Promise<void> Serve(kj::Own<kj::AsyncIoStream> stream, ClientConnection& client) {
    auto gated = client.Gate(kj::mv(stream));
    auto network = kj::heap<capnp::TwoPartyVatNetwork>(
        *gated, capnp::rpc::twoparty::Side::SERVER, reader_options);
    auto rpc = kj::heap(capnp::makeRpcServer(
        *network, capnp::Capability::Client(MakeGateway(worker_state, client, login_throttle))));
    // One attachment each: an outer attachment outlives an inner one, and the RPC system must
    // go before the network it talks through, the network before its stream.
    return network->onDisconnect()
        .attach(kj::mv(rpc))
        .attach(kj::mv(network))
        .attach(kj::mv(gated));
  }

  kj::Promise<void> Accepted(kj::Own<kj::AsyncIoStream> connection) {
    auto [peer, peer_host] = PeerAddress(*connection);
    kj::Own<ClientConnection> client = connection_table.Open(peer, peer_host);
    if (client.get() == nullptr) {
      KJ_LOG(WARNING, "refused a connection: at the connection limit, every connection busy", peer,
             connection_table.limits().max_connections);
      if (refusing >= kMaxRefusing) return kj::READY_NOW;
      ++refusing;
      kj::AsyncIoStream& stream = *connection;
      return RefuseConnection(
                 stream, io.provider->getTimer(),
                 kj::str("this worker is at its limit of ", connection_table.limits().max_connections,
                         " connections, each running a job: try again later"))
          .attach(kj::mv(connection), kj::defer([this] { --refusing; }));
    }
    ClientConnection& served_client = *client;
    kj::Promise<void> served =
        tls == nullptr
            ? Serve(kj::mv(connection), served_client)
            : tls->Accept(kj::mv(connection),
                          [this, &served_client](kj::Own<kj::AsyncIoStream> secured) {
                            return Serve(kj::mv(secured), served_client);
                          });
    // The record goes last: the RPC system serving the connection refers to it.
    return served.exclusiveJoin(served_client.Ended()).attach(kj::mv(client));
  }

  kj::Promise<void> AcceptLoop() {
    // evalNow: kj's accept() can also throw at once (EMFILE), not only reject later.
    return kj::evalNow([this] { return listener->accept(); })
        .then(
        [this](kj::Own<kj::AsyncIoStream>&& connection) {
          connections.add(Accepted(kj::mv(connection)));
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
  absl::StatusOr<kj::Own<kj::TlsContext>> tls = MakeTlsContext(options.tls, TlsSide::kServer);
  if (!tls.ok()) return tls.status();
  std::optional<HostPort> host_port;
  if (!options.listen_address.empty()) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(options.listen_address);
    if (!parsed.ok()) return parsed.status();
    // TLS without client certificates encrypts, but lets in anyone who can connect.
    if (!IsLoopbackHost(parsed->host) && options.token.empty() && options.tls.ca_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to listen on ", parsed->host,
          " without a token or client certificates: anyone who can reach it could run code here "
          "(give a token, or TLS with a client CA, or listen on 127.0.0.1)"));
    }
    host_port = *parsed;
  } else if (tls->get() != nullptr) {
    return absl::InvalidArgumentError(
        "TLS applies to the listener, and this worker has none (the queue is not TLS)");
  }
  // A cache directory that cannot be used is an error now, not a worker quietly without one.
  absl::StatusOr<std::unique_ptr<BlobStore>> modules =
      BlobStore::Open(State::StoreOptions(options, "modules", 0.25));
  if (!modules.ok()) return modules.status();
  absl::StatusOr<std::unique_ptr<BlobStore>> objects =
      BlobStore::Open(State::StoreOptions(options, "objects", 0.75));
  if (!objects.ok()) return objects.status();
  absl::StatusOr<std::unique_ptr<BlobStore>> targets =
      BlobStore::Open(State::TargetStoreOptions(options));
  if (!targets.ok()) return targets.status();
  absl::StatusOr<std::unique_ptr<FileStore>> files = FileStore::Open(State::FileStoreOptionsOf(options));
  if (!files.ok()) return files.status();
  // A child writing to a closed pipe must not take the worker down with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = StartSandbox(options, host_port);
  if (!sandbox.ok()) return sandbox.status();
  std::unique_ptr<State> state;
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                state = std::make_unique<State>(options, LimitsOf(options), io,
                                                *std::move(sandbox), *std::move(modules),
                                                *std::move(objects), *std::move(targets),
                                                *std::move(files));
                if (tls->get() != nullptr) {
                  state->tls = std::make_unique<TlsAcceptor>(*std::move(tls),
                                                             io.provider->getTimer());
                }
                state->protection = DescribeProtection(options);
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

const std::string& WorkerServer::protection() const { return state_->protection; }

std::string WorkerServer::metrics_address() const {
  return state_->metrics_server == nullptr ? std::string() : state_->metrics_server->address();
}

std::string WorkerServer::QueueDescription() const {
  return state_->queue == nullptr ? std::string() : state_->queue->Description();
}

}  // namespace rexec
