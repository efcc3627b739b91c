#include "runtime/service/metrics_server.h"

#include <arpa/inet.h>
#include <kj/compat/http.h>
#include <kj/debug.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4";

struct ListenAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string host;  // as written back in address(), without brackets
};

// HOST:PORT with HOST an IPv4 or IPv6 literal (brackets optional), "localhost" or empty.
absl::StatusOr<ListenAddress> ParseListenAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address '", address, "' must be HOST:PORT"));
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in metrics address '", address, "'"));
  }
  ListenAddress result;
  result.host = address.substr(0, colon);
  if (result.host.size() >= 2 && result.host.front() == '[' && result.host.back() == ']') {
    result.host = result.host.substr(1, result.host.size() - 2);
  }
  if (result.host.empty() || result.host == "localhost") result.host = "127.0.0.1";

  auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
  if (inet_pton(AF_INET, result.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    result.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, result.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    result.length = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", address, "' needs an IP address or localhost, not a host name"));
  }
  return result;
}

class MetricsService final : public kj::HttpService {
 public:
  MetricsService(const kj::HttpHeaderTable& table, kj::HttpHeaderId allow,
                 std::function<std::string()> render)
      : table_(table), allow_(allow), render_(std::move(render)) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& request_headers,
                            kj::AsyncInputStream& request_body, Response& response) override {
    std::string_view target(url.cStr(), url.size());
    if (target.substr(0, target.find('?')) != "/metrics") {
      return response.sendError(404, "Not Found", table_);
    }
    kj::HttpHeaders headers(table_);
    if (method != kj::HttpMethod::GET) {
      headers.set(allow_, "GET");
      return response.sendError(405, "Method Not Allowed", headers);
    }
    // On the heap: a short std::string keeps its bytes inline, so moving it into attach()
    // would move them away from under the pending write.
    auto body = kj::heap<std::string>(render_());
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, kContentType);
    auto stream = response.send(200, "OK", headers, body->size());
    auto written = stream->write(body->data(), body->size());
    return written.attach(kj::mv(stream), kj::mv(body));
  }

 private:
  const kj::HttpHeaderTable& table_;
  const kj::HttpHeaderId allow_;
  const std::function<std::string()> render_;
};

// A failed scrape connection is the client's business (it hung up, sent garbage or too much,
// timed out), so it is logged at INFO, which kj leaves out unless asked: a noisy client must not
// flood the worker's log either.
class QuietErrorHandler final : public kj::TaskSet::ErrorHandler,
                                public kj::HttpServerErrorHandler {
 public:
  void taskFailed(kj::Exception&& exception) override {
    if (exception.getType() != kj::Exception::Type::DISCONNECTED) {
      KJ_LOG(INFO, "metrics connection ended with an error", exception);
    }
  }

  // kj's default logs an ERROR when it has no response to report on, which is what a request
  // too large to parse produces; closing the connection is all there is to do.
  kj::Promise<void> handleApplicationError(
      kj::Exception exception, kj::Maybe<kj::HttpService::Response&> response) override {
    if (response == nullptr) {
      taskFailed(kj::mv(exception));
      return kj::READY_NOW;
    }
    return HttpServerErrorHandler::handleApplicationError(kj::mv(exception), response);
  }
};

kj::HttpServerSettings ServerSettings(kj::HttpServerErrorHandler& error_handler) {
  kj::HttpServerSettings settings;
  settings.headerTimeout = 5 * kj::SECONDS;    // a scraper sends its request at once
  settings.pipelineTimeout = 5 * kj::SECONDS;  // then an idle keep-alive connection goes
  settings.errorHandler = error_handler;
  return settings;
}

}  // namespace

struct MetricsServer::State {
  // Whatever a connection does, it ends by then; see the header.
  static constexpr kj::Duration kMaxConnectionLifetime = 60 * kj::SECONDS;

  State(kj::Timer& timer, kj::Own<kj::HttpHeaderTable> table, kj::HttpHeaderId allow,
        std::function<std::string()> render)
      : timer(timer),
        header_table(kj::mv(table)),
        service(*header_table, allow, std::move(render)),
        http(timer, *header_table, service, ServerSettings(error_handler)) {}

  kj::Timer& timer;
  kj::Own<kj::HttpHeaderTable> header_table;
  MetricsService service;
  QuietErrorHandler error_handler;
  kj::HttpServer http;
  kj::Own<kj::ConnectionReceiver> listener;
  std::string address;
  int port = 0;
  size_t open_connections = 0;
  kj::TaskSet connections{error_handler};  // last: its tasks use everything above

  void Serve(kj::Own<kj::AsyncIoStream> connection) {
    ++open_connections;
    connections.add(http.listenHttp(kj::mv(connection))
                        .exclusiveJoin(timer.afterDelay(kMaxConnectionLifetime))
                        .attach(kj::defer([this] { --open_connections; })));
  }

  kj::Promise<void> AcceptLoop() {
    // evalNow: kj's accept() can also throw at once (EMFILE), not only reject later.
    return kj::evalNow([this] { return listener->accept(); })
        .then(
            [this](kj::Own<kj::AsyncIoStream>&& connection) {
              // Over the limit the connection is dropped, which closes it.
              if (open_connections < kMaxConnections) Serve(kj::mv(connection));
              return AcceptLoop();
            },
            [this](kj::Exception&& exception) {
              KJ_LOG(WARNING, "cannot accept a metrics connection; retrying shortly", exception);
              return timer.afterDelay(100 * kj::MILLISECONDS).then([this] {
                return AcceptLoop();
              });
            });
  }
};

MetricsServer::MetricsServer(std::unique_ptr<State> state) : state_(std::move(state)) {}
MetricsServer::~MetricsServer() = default;

const std::string& MetricsServer::address() const { return state_->address; }
int MetricsServer::port() const { return state_->port; }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Listen(
    kj::Network& network, kj::Timer& timer, const std::string& address,
    std::function<std::string()> render) {
  if (!render) return absl::InvalidArgumentError("the metrics server needs a render function");
  absl::StatusOr<ListenAddress> listen_address = ParseListenAddress(address);
  if (!listen_address.ok()) return listen_address.status();

  kj::HttpHeaderTable::Builder headers;
  kj::HttpHeaderId allow = headers.add("Allow");
  auto state = std::make_unique<State>(timer, headers.build(), allow, std::move(render));
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                state->listener =
                    network.getSockaddr(&listen_address->storage, listen_address->length)
                        ->listen();
              })) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ",
                                               exception->getDescription().cStr()));
  }
  state->port = static_cast<int>(state->listener->getPort());
  const std::string& host = listen_address->host;
  state->address = host.find(':') != std::string::npos
                       ? absl::StrCat("[", host, "]:", state->port)
                       : absl::StrCat(host, ":", state->port);
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(state)));
}

kj::Promise<void> MetricsServer::Run() { return state_->AcceptLoop(); }

}  // namespace rexec
