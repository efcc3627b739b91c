// The pipelined Redis connection and its reconnecting link, against a real redis-server.
#include "queue/redis_connection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <kj/vector.h>

#include "queue/redis_link.h"
#include "tests/integration/redis_server.h"

namespace rexec {
namespace {

using ::rexec::testing::RedisServer;
using ::testing::HasSubstr;

class RedisConnectionTest : public ::testing::Test {
 protected:
  // kj's I/O context may throw from its destructor; a test fixture's may not.
  ~RedisConnectionTest() noexcept override {}
  void SetUp() override { ASSERT_TRUE(redis_.started()) << redis_.log(); }

  RedisUrl Url() { return *ParseRedisUrl(redis_.url()); }

  kj::Own<RedisConnection> Connect() {
    return RedisConnection::Connect(*io_.provider, io_.provider->getTimer(), Url(),
                                    5 * kj::SECONDS)
        .wait(io_.waitScope);
  }

  RedisServer redis_;
  kj::AsyncIoContext io_ = kj::setupAsyncIo();
};

TEST_F(RedisConnectionTest, PipelinedCommandsAnswerInOrder) {
  kj::Own<RedisConnection> redis = Connect();
  constexpr int kCount = 2000;
  kj::Vector<kj::Promise<RedisReply>> sets;
  for (int i = 0; i < kCount; ++i) {
    std::string key = "k" + std::to_string(i), value = "v" + std::to_string(i);
    sets.add(redis->Call({"SET", key, value}));
  }
  for (RedisReply& reply : kj::joinPromises(sets.releaseAsArray()).wait(io_.waitScope)) {
    EXPECT_EQ(reply.str(), "OK");
  }
  kj::Vector<kj::Promise<RedisReply>> gets;
  for (int i = 0; i < kCount; ++i) gets.add(redis->Call({"GET", "k" + std::to_string(i)}));
  auto replies = kj::joinPromises(gets.releaseAsArray()).wait(io_.waitScope);
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(replies[i].str(), "v" + std::to_string(i));
}

TEST_F(RedisConnectionTest, BinaryValuesArrivesWhole) {
  kj::Own<RedisConnection> redis = Connect();
  std::string blob(300'000, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7);
  redis->CallOrThrow({"SET", "blob", blob}).wait(io_.waitScope);
  RedisReply reply = redis->Call({"GET", "blob"}).wait(io_.waitScope);
  EXPECT_EQ(reply.str(), blob);
}

TEST_F(RedisConnectionTest, ErrorsAndNilsAreValues) {
  kj::Own<RedisConnection> redis = Connect();
  RedisReply error = redis->Call({"NOSUCHCOMMAND"}).wait(io_.waitScope);
  EXPECT_TRUE(error.is_error());
  EXPECT_THAT(std::string(error.str()), HasSubstr("unknown command"));
  EXPECT_TRUE(redis->Call({"GET", "absent"}).wait(io_.waitScope).value().is_nil());
  // The connection serves on after an error.
  EXPECT_EQ(redis->Call({"PING"}).wait(io_.waitScope).str(), "PONG");
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                redis->CallOrThrow({"NOSUCHCOMMAND"}).wait(io_.waitScope);
              })) {
    EXPECT_THAT(std::string(exception->getDescription().cStr()), HasSubstr("NOSUCHCOMMAND"));
  } else {
    ADD_FAILURE() << "CallOrThrow accepted an error reply";
  }
}

TEST_F(RedisConnectionTest, ALostServerFailsCallsAsDisconnected) {
  kj::Own<RedisConnection> redis = Connect();
  auto blocked = redis->Call({"BLPOP", "never", "0"});
  redis_.Kill();
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] { blocked.wait(io_.waitScope); })) {
    EXPECT_EQ(exception->getType(), kj::Exception::Type::DISCONNECTED);
  } else {
    ADD_FAILURE() << "a call on a dead server succeeded";
  }
  EXPECT_FALSE(redis->connected());
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] {
                redis->Call({"PING"}).wait(io_.waitScope);
              })) {
    EXPECT_EQ(exception->getType(), kj::Exception::Type::DISCONNECTED);
  } else {
    ADD_FAILURE() << "a call after the loss succeeded";
  }
}

TEST_F(RedisConnectionTest, UnreachableServerIsAClearError) {
  redis_.Kill();
  KJ_IF_MAYBE(exception, kj::runCatchingExceptions([&] { Connect(); })) {
    EXPECT_THAT(std::string(exception->getDescription().cStr()),
                HasSubstr("cannot reach Redis at redis://127.0.0.1:"));
  } else {
    ADD_FAILURE() << "connected to a dead server";
  }
}

TEST_F(RedisConnectionTest, LinkReconnectsAfterARestart) {
  RedisLink link(*io_.provider, io_.provider->getTimer(), Url(), "test");
  RedisConnection& first = *link.Get().wait(io_.waitScope);
  first.CallOrThrow({"SET", "a", "1"}).wait(io_.waitScope);
  EXPECT_EQ(link.connections(), 1u);

  redis_.Kill();
  first.OnDisconnect().wait(io_.waitScope);
  // Still down: the link waits and retries rather than failing.
  auto again = link.Get();
  io_.provider->getTimer().afterDelay(300 * kj::MILLISECONDS).wait(io_.waitScope);
  ASSERT_TRUE(redis_.Restart()) << redis_.log();
  RedisConnection& second = *again.wait(io_.waitScope);
  EXPECT_EQ(second.Call({"PING"}).wait(io_.waitScope).str(), "PONG");
  EXPECT_EQ(link.connections(), 2u);
  // A server without persistence comes back empty.
  EXPECT_TRUE(second.Call({"GET", "a"}).wait(io_.waitScope).value().is_nil());
}

}  // namespace
}  // namespace rexec
