#include "core/host_port.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rexec {
namespace {

using ::testing::HasSubstr;

TEST(HostPortTest, HostAndPort) {
  absl::StatusOr<HostPort> parsed = ParseHostPort("127.0.0.1:7070");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 7070u);
}

TEST(HostPortTest, BracketedIpv6LosesItsBrackets) {
  absl::StatusOr<HostPort> parsed = ParseHostPort("[::1]:0");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 0u);
}

TEST(HostPortTest, EmptyHostIsLoopback) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(":7070");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->host, "127.0.0.1");
}

TEST(HostPortTest, MissingOrBadPortIsRefused) {
  EXPECT_THAT(std::string(ParseHostPort("localhost").status().message()),
              HasSubstr("must be HOST:PORT"));
  EXPECT_THAT(std::string(ParseHostPort("localhost:65536").status().message()),
              HasSubstr("bad port"));
  EXPECT_THAT(std::string(ParseHostPort("localhost:http").status().message()),
              HasSubstr("bad port"));
}

TEST(HostPortTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("::"));
}

}  // namespace
}  // namespace rexec
