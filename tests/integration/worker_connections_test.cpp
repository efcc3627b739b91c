// What a client connection may hold of a worker: before login only small messages and a few
// seconds; idle, a few minutes; at most so many connections, with room kept for a new client
// even when file descriptors run out; and wrong tokens are logged and slowed per peer address.
#include <arpa/inet.h>
#include <capnp/rpc-twoparty.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "schema/rexec.capnp.h"
#include "tests/integration/loopback.h"
#include "tests/integration/process_footprint.h"
#include "tests/integration/send_command.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

// A Cap'n Proto frame's segment table announcing one segment of `bytes`.
std::string OneSegmentTable(uint32_t bytes) {
  std::string table(8, '\0');
  const uint32_t words = bytes / 8;
  for (int i = 0; i < 4; ++i) table[4 + i] = static_cast<char>(words >> (8 * i));
  return table;
}

// A socket connected to the worker on 127.0.0.1 from `source`, another loopback address of
// this host (so that the worker sees a different peer), or -1.
int ConnectFrom(const char* source, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  inet_pton(AF_INET, source, &address.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  address.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Everything the worker sends on `fd` until it closes the connection, or until `timeout`.
// `closed` says which came first.
std::string ReadUntilClosed(int fd, std::chrono::milliseconds timeout, bool* closed) {
  timeval poll_interval{0, 100'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &poll_interval, sizeof(poll_interval));
  std::string received;
  const auto deadline = Clock::now() + timeout;
  *closed = false;
  while (Clock::now() < deadline) {
    char buffer[4096];
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      received.append(buffer, n);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      *closed = true;
      break;
    }
  }
  return received;
}

// A Cap'n Proto client on a socket of its own.
class RawClient {
 public:
  RawClient(kj::AsyncIoContext& io, int fd)
      : stream_(io.lowLevelProvider->wrapSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP)),
        client_(*stream_) {}

  // Logs in with `token` and pings through the Worker it got; returns the worker's refusal, or
  // "" when both succeeded.
  std::string LoginAndPing(kj::WaitScope& wait_scope, const std::string& token) {
    auto login = client_.bootstrap().castAs<wire::Gateway>().loginRequest();
    login.setToken(token);
    worker_ = login.send().getWorker();
    return Ping(wait_scope);
  }

  std::string Ping(kj::WaitScope& wait_scope) {
    try {
      worker_.pingRequest().send().wait(wait_scope);
      return "";
    } catch (const kj::Exception& e) {
      return e.getDescription().cStr();
    }
  }

 private:
  kj::Own<kj::AsyncIoStream> stream_;
  capnp::TwoPartyClient client_;
  wire::Worker::Client worker_ = nullptr;
};

TEST(WorkerConnectionsTest, LargeMessagesBeforeLoginCostTheWorkerNoMemory) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectHelloRunsOn(worker);
  const uint64_t before = ResidentBytes(worker.pid());
  ASSERT_GT(before, 0u);

  // Eight connections each announce a 60 MB message and send what the worker takes of it within
  // a moment, without logging in; the message never completes.
  constexpr uint32_t kMessageBytes = 60 << 20;
  const std::string body(kMessageBytes - (1 << 10), '\x01');
  std::vector<int> crowd;
  for (int i = 0; i < 8; ++i) {
    int fd = ConnectLoopback(worker.port());
    ASSERT_GE(fd, 0);
    timeval send_timeout{0, 300'000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
    SendAll(fd, OneSegmentTable(kMessageBytes) + body);  // stops when the worker stops reading
    crowd.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t after = ResidentBytes(worker.pid());
  EXPECT_LT(after, before + (64ull << 20))
      << "the worker grew from " << (before >> 20) << " MB to " << (after >> 20)
      << " MB reading messages from clients that never logged in";
  ExpectHelloRunsOn(worker);
  for (int fd : crowd) close(fd);
}

TEST(WorkerConnectionsTest, AConnectionThatDoesNotLogInIsClosedWithAReason) {
  WorkerProcess worker({"--login-timeout", "1"});
  ASSERT_TRUE(worker.started()) << worker.log();
  int fd = ConnectLoopback(worker.port());
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  bool closed = false;
  std::string said = ReadUntilClosed(fd, std::chrono::milliseconds(6000), &closed);
  close(fd);
  EXPECT_TRUE(closed) << "a connection that never logged in was still open after 6 s";
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(4000));
  EXPECT_THAT(said, HasSubstr("did not log in within 1 s"));
  ExpectHelloRunsOn(worker);
}

TEST(WorkerConnectionsTest, AnIdleConnectionIsClosedButALongJobIsNot) {
  WorkerProcess worker({"--idle-timeout", "1"});
  ASSERT_TRUE(worker.started()) << worker.log();
  auto io = kj::setupAsyncIo();
  RawClient client(io, ConnectLoopback(worker.port()));
  ASSERT_EQ(client.LoginAndPing(io.waitScope, ""), "");
  io.provider->getTimer().afterDelay(2500 * kj::MILLISECONDS).wait(io.waitScope);
  EXPECT_THAT(client.Ping(io.waitScope), HasSubstr("idle for 1 s"))
      << "an idle connection was still open after 2.5 s";
  // A job that runs longer than the idle timeout, saying nothing meanwhile, keeps its connection.
  ProcessResult long_job =
      RunSend({"--worker", worker.address(), ProgramPath("sleep_then_exit.cpp"), "--", "3"});
  EXPECT_EQ(long_job.exit_code, 0) << long_job << worker.log();
  EXPECT_EQ(long_job.stdout_text, "started\ndone\n") << long_job;
}

// Bytes are not messages: a logged-in client that trickles a message that never ends, a byte
// at a time, holds its connection no longer than an idle one.
TEST(WorkerConnectionsTest, AConnectionTricklingAMessageThatNeverEndsIsIdle) {
  WorkerProcess worker({"--idle-timeout", "1"});
  ASSERT_TRUE(worker.started()) << worker.log();
  auto io = kj::setupAsyncIo();
  const int fd = ConnectLoopback(worker.port());
  ASSERT_GE(fd, 0);
  RawClient client(io, dup(fd));
  ASSERT_EQ(client.LoginAndPing(io.waitScope, ""), "");
  // The ping's reply is read: the stream is between messages, and a new one starts here.
  ASSERT_TRUE(SendAll(fd, OneSegmentTable(1 << 10)));
  const auto start = Clock::now();
  bool closed = false;
  std::string said;
  while (!closed && Clock::now() - start < std::chrono::seconds(6)) {
    send(fd, "x", 1, MSG_NOSIGNAL);
    said += ReadUntilClosed(fd, std::chrono::milliseconds(200), &closed);
  }
  close(fd);
  EXPECT_TRUE(closed) << "a connection sending a byte every 200 ms was still open after 6 s";
  EXPECT_THAT(said, HasSubstr("idle for 1 s"));
  ExpectHelloRunsOn(worker);
}

TEST(WorkerConnectionsTest, AtTheConnectionLimitANewClientIsToldWhenAllAreBusy) {
  WorkerProcess worker({"--max-connections", "2"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectHelloRunsOn(worker);  // compiles hello.cpp before the clock matters
  std::vector<std::unique_ptr<Subprocess>> busy;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(std::make_unique<Subprocess>(
        SendCommand({"--worker", worker.address(), ProgramPath("sleep_then_exit.cpp"), "--", "4"}),
        SendOptions()));
  }
  for (auto& client : busy) {
    ASSERT_TRUE(client->WaitForOutput(Stream::kStdout, "started", milliseconds(30'000)))
        << worker.log();
  }
  ProcessResult refused = RunSend({"--worker", worker.address(), ProgramPath("hello.cpp")});
  EXPECT_EQ(refused.exit_code, 255) << refused;
  EXPECT_THAT(refused.stderr_text, HasSubstr("limit of 2 connections")) << refused;
  for (auto& client : busy) EXPECT_EQ(client->Wait(milliseconds(30'000)).exit_code, 0);
  ExpectHelloRunsOn(worker);
}

TEST(WorkerConnectionsTest, AtTheConnectionLimitTheConnectionIdleLongestMakesRoom) {
  WorkerProcess worker({"--max-connections", "2"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectHelloRunsOn(worker);
  int oldest = ConnectLoopback(worker.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int newer = ConnectLoopback(worker.port());
  ASSERT_GE(oldest, 0);
  ASSERT_GE(newer, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ExpectHelloRunsOn(worker);
  bool closed = false;
  ReadUntilClosed(oldest, std::chrono::milliseconds(2000), &closed);
  EXPECT_TRUE(closed) << "the connection idle longest was kept";
  close(oldest);
  close(newer);
}

// With more clients than file descriptors, a new client is still served: the idle crowd gives
// way instead of the new client hanging in the listen backlog. Once the crowd is gone, the
// worker still serves (it was never brought down).
TEST(WorkerConnectionsTest, ANewClientIsServedWhileACrowdHoldsMoreConnectionsThanDescriptors) {
  WorkerProcess worker({}, /*max_open_files=*/64);
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectHelloRunsOn(worker);
  std::vector<int> crowd;
  for (int i = 0; i < 100; ++i) {
    if (int fd = ConnectLoopback(worker.port()); fd >= 0) crowd.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the worker accepts them
  ExpectHelloRunsOn(worker);
  for (int fd : crowd) close(fd);
  ExpectHelloRunsOn(worker);
}

TEST(WorkerLoginTest, WrongTokensAreLoggedAndSlowedForTheirPeerOnly) {
  TempDir dir;
  const std::string token = "the-right-token-4f1c";
  const std::string wrong = "a-wrong-guess-93be";
  const std::string token_file = dir.Write("token", token + "\n");
  WorkerProcess worker({"--token-file", token_file});
  ASSERT_TRUE(worker.started()) << worker.log();
  auto io = kj::setupAsyncIo();

  // A guesser on 127.0.0.2, one attempt after another for 3 s.
  int attempts = 0;
  std::string refusal;
  const auto stop = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < stop) {
    int fd = ConnectFrom("127.0.0.2", worker.port());
    ASSERT_GE(fd, 0) << "cannot connect from 127.0.0.2";
    RawClient guesser(io, fd);
    refusal = guesser.LoginAndPing(io.waitScope, wrong);
    ASSERT_NE(refusal, "") << "a wrong token was accepted";
    ++attempts;
  }
  EXPECT_THAT(refusal, HasSubstr("this worker refused the token presented"));
  EXPECT_GE(attempts, 2);
  EXPECT_LE(attempts, 10) << "wrong tokens are not slowed down";

  // Meanwhile the right token from 127.0.0.1 is not slowed by the guesser's failures.
  RawClient good(io, ConnectLoopback(worker.port()));
  const auto login_start = Clock::now();
  EXPECT_EQ(good.LoginAndPing(io.waitScope, token), "");
  EXPECT_LT(Clock::now() - login_start, std::chrono::milliseconds(500));
  ProcessResult hello = RunSend({"--worker", worker.address(), ProgramPath("hello.cpp")},
                                {.env = {{"REXEC_TOKEN", token}}});
  EXPECT_EQ(hello.exit_code, 0) << hello;

  // One line per failure, naming the peer, never a token.
  const std::string log = worker.log();
  size_t lines = 0;
  std::istringstream stream(log);
  for (std::string line; std::getline(stream, line);) {
    if (line.find("refused a login") != std::string::npos) {
      ++lines;
      EXPECT_THAT(line, HasSubstr("127.0.0.2:"));
    }
  }
  EXPECT_EQ(lines, static_cast<size_t>(attempts)) << log;
  EXPECT_THAT(log, AllOf(Not(HasSubstr(token)), Not(HasSubstr(wrong))));
}

}  // namespace
}  // namespace rexec::testing
