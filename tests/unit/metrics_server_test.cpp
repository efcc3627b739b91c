// The metrics endpoint over real loopback sockets, server and clients on one kj event loop.
// Nothing here talks to any address but 127.0.0.1.
#include "runtime/service/metrics_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kj/compat/http.h>

#include <string>
#include <vector>

namespace rexec {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Reply {
  uint status = 0;
  std::string content_type;
  std::string allow;
  std::string body;
};

class MetricsServerTest : public ::testing::Test {
 protected:
  MetricsServerTest() {
    kj::HttpHeaderTable::Builder builder;
    loop_->allow = builder.add("Allow");
    loop_->table = builder.build();
  }

  kj::Network& network() { return loop_->io.provider->getNetwork(); }
  kj::Timer& timer() { return loop_->io.provider->getTimer(); }
  kj::WaitScope& wait_scope() { return loop_->io.waitScope; }
  const kj::HttpHeaderTable& table() { return *loop_->table; }
  MetricsServer& server() { return *loop_->server; }

  // Listens on a free loopback port and serves until the test ends.
  void Start(std::function<std::string()> render) {
    auto server = MetricsServer::Listen(network(), timer(), "127.0.0.1:0", std::move(render));
    ASSERT_TRUE(server.ok()) << server.status();
    loop_->server = std::move(*server);
    loop_->serving = loop_->server->Run().eagerlyEvaluate([](kj::Exception&& exception) {
      ADD_FAILURE() << "the server stopped: " << exception.getDescription().cStr();
    });
  }

  // Serves "up 1\n" and counts how often the page was rendered in scrapes_.
  void StartCountingScrapes() {
    Start([this] {
      ++scrapes_;
      return std::string("up 1\n");
    });
  }

  kj::Own<kj::AsyncIoStream> Connect() {
    auto address = network().parseAddress("127.0.0.1", server().port()).wait(wait_scope());
    return address->connect().wait(wait_scope());
  }

  Reply Send(kj::HttpClient& client, kj::HttpMethod method, kj::StringPtr path,
             kj::StringPtr body = nullptr) {
    kj::HttpHeaders headers(table());
    headers.set(kj::HttpHeaderId::HOST, "127.0.0.1");
    auto request = body == nullptr ? client.request(method, path, headers)
                                   : client.request(method, path, headers, body.size());
    if (body != nullptr) request.body->write(body.begin(), body.size()).wait(wait_scope());
    request.body = nullptr;
    auto response = request.response.wait(wait_scope());
    Reply reply;
    reply.status = response.statusCode;
    // The headers live until the body is read: copy them out first.
    KJ_IF_MAYBE(type, response.headers->get(kj::HttpHeaderId::CONTENT_TYPE)) {
      reply.content_type = type->cStr();
    }
    KJ_IF_MAYBE(allow, response.headers->get(loop_->allow)) { reply.allow = allow->cStr(); }
    reply.body = response.body->readAllText().wait(wait_scope()).cStr();
    return reply;
  }

  // One request on a connection of its own.
  Reply SendOnce(kj::HttpMethod method, kj::StringPtr path) {
    auto connection = Connect();
    auto client = kj::newHttpClient(table(), *connection);
    return Send(*client, method, path);
  }

  // Everything the server sends on `connection` until it closes it.
  std::string ReadUntilClosed(kj::AsyncIoStream& connection) {
    std::string received;
    char buffer[4096];
    for (;;) {
      size_t n = 0;
      // A reset (the server closed with our bytes unread) ends the stream too.
      KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                    n = connection.tryRead(buffer, 1, sizeof(buffer)).wait(wait_scope());
                  })) {
        EXPECT_EQ(exception->getType(), kj::Exception::Type::DISCONNECTED)
            << exception->getDescription().cStr();
        return received;
      }
      if (n == 0) return received;
      received.append(buffer, n);
    }
  }

  // kj's destructors may throw, which a fixture's members' may not: they live behind a pointer,
  // declared in the order they are built (and torn down backwards).
  struct Loop {
    kj::AsyncIoContext io = kj::setupAsyncIo();
    kj::Own<kj::HttpHeaderTable> table;
    kj::HttpHeaderId allow;
    std::unique_ptr<MetricsServer> server;
    kj::Promise<void> serving = nullptr;
  };
  std::unique_ptr<Loop> loop_ = std::make_unique<Loop>();
  int scrapes_ = 0;
};

TEST_F(MetricsServerTest, ServesTheRenderedPageAsPrometheusText) {
  int scrapes = 0;
  Start([&scrapes] { return "rexec_scrapes_total " + std::to_string(++scrapes) + "\n"; });

  auto connection = Connect();
  auto client = kj::newHttpClient(table(), *connection);
  Reply first = Send(*client, kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(first.body, "rexec_scrapes_total 1\n");

  // A second request on the same (keep-alive) connection renders the page afresh.
  Reply second = Send(*client, kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(second.body, "rexec_scrapes_total 2\n");

  // And so does one on a new connection.
  Reply third = SendOnce(kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(third.status, 200u);
  EXPECT_EQ(third.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(third.body, "rexec_scrapes_total 3\n");
}

TEST_F(MetricsServerTest, ServesALargePage) {
  std::string page;
  for (int i = 0; i < 20000; ++i) page += "rexec_series_" + std::to_string(i) + " 1\n";
  Start([&page] { return page; });
  Reply reply = SendOnce(kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, page);
}

TEST_F(MetricsServerTest, IgnoresAQueryString) {
  Start([] { return std::string("up 1\n"); });
  Reply reply = SendOnce(kj::HttpMethod::GET, "/metrics?format=prometheus");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "up 1\n");
}

TEST_F(MetricsServerTest, AnswersOtherPathsWith404) {
  StartCountingScrapes();
  auto connection = Connect();
  auto client = kj::newHttpClient(table(), *connection);
  EXPECT_EQ(Send(*client, kj::HttpMethod::GET, "/other").status, 404u);
  EXPECT_EQ(Send(*client, kj::HttpMethod::GET, "/").status, 404u);
  EXPECT_EQ(Send(*client, kj::HttpMethod::GET, "/metrics/").status, 404u);
  EXPECT_EQ(Send(*client, kj::HttpMethod::POST, "/other", "x").status, 404u);
  EXPECT_EQ(scrapes_, 0);
  // The connection serves on after a 404.
  Reply reply = Send(*client, kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "up 1\n");
}

TEST_F(MetricsServerTest, AnswersOtherMethodsWith405) {
  StartCountingScrapes();
  auto connection = Connect();
  auto client = kj::newHttpClient(table(), *connection);
  Reply post = Send(*client, kj::HttpMethod::POST, "/metrics", "a request body");
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.allow, "GET");
  Reply del = Send(*client, kj::HttpMethod::DELETE, "/metrics");
  EXPECT_EQ(del.status, 405u);
  EXPECT_EQ(del.allow, "GET");
  EXPECT_EQ(scrapes_, 0);
  EXPECT_EQ(Send(*client, kj::HttpMethod::GET, "/metrics").status, 200u);
}

TEST_F(MetricsServerTest, ReportsTheBoundAddress) {
  Start([] { return std::string(); });
  EXPECT_GT(server().port(), 0);
  EXPECT_EQ(server().address(), "127.0.0.1:" + std::to_string(server().port()));
  Reply reply = SendOnce(kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "");
}

TEST_F(MetricsServerTest, AnEmptyHostOrLocalhostMeansLoopback) {
  for (const char* address : {":0", "localhost:0"}) {
    auto server = MetricsServer::Listen(network(), timer(), address, [] { return ""; });
    ASSERT_TRUE(server.ok()) << address << ": " << server.status();
    EXPECT_EQ((*server)->address(), "127.0.0.1:" + std::to_string((*server)->port()));
  }
}

TEST_F(MetricsServerTest, RejectsBadAddressesWithoutLookingAnythingUp) {
  auto render = [] { return std::string(); };
  for (const char* address : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536",
                              "127.0.0.1:-1", "metrics.invalid:9100", "[127.0.0.1:9100"}) {
    auto server = MetricsServer::Listen(network(), timer(), address, render);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << address;
  }
  EXPECT_EQ(MetricsServer::Listen(network(), timer(), "127.0.0.1:0", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MetricsServerTest, ReportsAPortInUse) {
  Start([] { return std::string(); });
  auto second = MetricsServer::Listen(network(), timer(), server().address(), [] { return ""; });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(server().address()));
}

TEST_F(MetricsServerTest, SurvivesGarbageAndOversizedRequests) {
  Start([] { return std::string("up 1\n"); });

  auto garbage = Connect();
  kj::StringPtr junk = "\x01\x02 not http at all\r\n\r\n";
  garbage->write(junk.begin(), junk.size()).wait(wait_scope());
  EXPECT_THAT(ReadUntilClosed(*garbage), StartsWith("HTTP/1.1 501 Not Implemented\r\n"));

  auto bad_header = Connect();
  kj::StringPtr malformed = "GET /metrics HTTP/1.1\r\nno colon in this header\r\n\r\n";
  bad_header->write(malformed.begin(), malformed.size()).wait(wait_scope());
  EXPECT_THAT(ReadUntilClosed(*bad_header), StartsWith("HTTP/1.1 400 Bad Request\r\n"));

  // Headers past kj's bound (128 KiB) end the connection, unanswered, instead of growing a
  // buffer.
  auto oversized = Connect();
  std::string huge = "GET /metrics HTTP/1.1\r\nX-Padding: " + std::string(256 << 10, 'a');
  oversized->write(huge.data(), huge.size())
      .then([] {}, [](kj::Exception&&) {})  // the server may stop reading mid-write
      .wait(wait_scope());
  EXPECT_EQ(ReadUntilClosed(*oversized), "");

  Reply reply = SendOnce(kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, "up 1\n");
}

TEST_F(MetricsServerTest, ClosesConnectionsBeyondTheLimitAndServesOnOnceTheyGo) {
  Start([] { return std::string("up 1\n"); });
  std::vector<kj::Own<kj::AsyncIoStream>> idle;
  for (size_t i = 0; i < MetricsServer::kMaxConnections; ++i) idle.push_back(Connect());

  // The server accepts in order: the idle ones take every slot, this one is closed at once.
  auto refused = Connect();
  kj::TimePoint start = timer().now();
  EXPECT_EQ(ReadUntilClosed(*refused), "");
  EXPECT_LT(timer().now() - start, 2 * kj::SECONDS);  // well before the header timeout

  idle.clear();
  // The server sees the idle connections close as its loop turns; until then it refuses.
  for (int attempt = 0;; ++attempt) {
    Reply reply;
    kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions(
        [&] { reply = SendOnce(kj::HttpMethod::GET, "/metrics"); });
    if (failure == nullptr) {
      EXPECT_EQ(reply.status, 200u);
      EXPECT_EQ(reply.body, "up 1\n");
      break;
    }
    ASSERT_LT(attempt, 500) << "the server never freed its connection slots";
    timer().afterDelay(10 * kj::MILLISECONDS).wait(wait_scope());
  }
}

TEST_F(MetricsServerTest, ClosesConnectionsThatDoNotSendAWholeRequestInTime) {
  Start([] { return std::string("up 1\n"); });
  auto silent = Connect();
  auto trickling = Connect();
  kj::StringPtr partial = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  trickling->write(partial.begin(), partial.size()).wait(wait_scope());
  kj::TimePoint start = timer().now();

  // Both go, unanswered, once the header timeout (5 s) has passed.
  EXPECT_EQ(ReadUntilClosed(*trickling), "");
  kj::Duration waited = timer().now() - start;
  EXPECT_GE(waited, 4 * kj::SECONDS);
  EXPECT_LT(waited, 30 * kj::SECONDS);
  EXPECT_EQ(ReadUntilClosed(*silent), "");
}

}  // namespace
}  // namespace rexec
