#include "queue/redis_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rexec {
namespace {

using ::testing::HasSubstr;

TEST(RedisUrlTest, HostAndPort) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl("redis://127.0.0.1:6380");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 6380);
  EXPECT_EQ(url->database, 0);
  EXPECT_TRUE(url->password.empty());
}

TEST(RedisUrlTest, DefaultPortAndDatabase) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl("redis://localhost/3");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, 6379);
  EXPECT_EQ(url->database, 3);
}

TEST(RedisUrlTest, UserPasswordAndEscapes) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl("redis://alice:p%40ss%3Aword@10.0.0.1:7000/1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->user, "alice");
  EXPECT_EQ(url->password, "p@ss:word");
  EXPECT_EQ(url->host, "10.0.0.1");
  EXPECT_EQ(url->Redacted(), "redis://alice:***@10.0.0.1:7000/1");
}

TEST(RedisUrlTest, PasswordOnlyAsRedisCliReadsIt) {
  absl::StatusOr<RedisUrl> lone = ParseRedisUrl("redis://secret@host");
  ASSERT_TRUE(lone.ok()) << lone.status();
  EXPECT_EQ(lone->password, "secret");
  EXPECT_TRUE(lone->user.empty());
  absl::StatusOr<RedisUrl> colon = ParseRedisUrl("redis://:secret@host");
  ASSERT_TRUE(colon.ok()) << colon.status();
  EXPECT_EQ(colon->password, "secret");
  EXPECT_EQ(colon->Redacted(), "redis://:***@host:6379");
}

TEST(RedisUrlTest, BracketedIpv6) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl("redis://[::1]:6390");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 6390);
  EXPECT_EQ(url->Redacted(), "redis://[::1]:6390");
}

TEST(RedisUrlTest, RefusalsSayWhatIsWrong) {
  for (const char* bad : {"127.0.0.1:6379", "http://x", "redis://", "redis://h:0", "redis://h:99999",
                          "redis://h:12ab", "redis://h/x", "redis://a:%4@h", "redis://[::1"}) {
    absl::StatusOr<RedisUrl> url = ParseRedisUrl(bad);
    EXPECT_FALSE(url.ok()) << bad;
    EXPECT_THAT(std::string(url.status().message()), HasSubstr("bad Redis URL")) << bad;
  }
}

}  // namespace
}  // namespace rexec
