#include "tools/flag_values.h"

#include <gtest/gtest.h>

namespace rexec {
namespace {

TEST(FlagValuesTest, ParsesByteSizesWithSuffixes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("64K"), 64u << 10);
  EXPECT_EQ(*ParseByteSize("16m"), 16u << 20);
  EXPECT_EQ(*ParseByteSize("2G"), 2ull << 30);
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("12X").ok());
  EXPECT_FALSE(ParseByteSize("-1").ok());
  EXPECT_FALSE(ParseByteSize("99999999999999999999G").ok());
}

TEST(FlagValuesTest, ParsesSecondsToMilliseconds) {
  EXPECT_EQ(*ParseSecondsAsMilliseconds("2"), 2000u);
  EXPECT_EQ(*ParseSecondsAsMilliseconds("0.5"), 500u);
  EXPECT_EQ(*ParseSecondsAsMilliseconds("0.0001"), 1u);
  EXPECT_EQ(*ParseSecondsAsMilliseconds("0"), 0u);
  EXPECT_FALSE(ParseSecondsAsMilliseconds("-1").ok());
  EXPECT_FALSE(ParseSecondsAsMilliseconds("soon").ok());
  EXPECT_FALSE(ParseSecondsAsMilliseconds("nan").ok());
}

TEST(FlagValuesTest, MatchesFlagInBothForms) {
  std::vector<std::string> args = {"tool", "--listen", "127.0.0.1:1", "--listen=127.0.0.1:2",
                                   "--listen"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  int argc = static_cast<int>(argv.size());
  std::string value, error;

  int i = 1;
  ASSERT_TRUE(MatchFlag("--listen", argc, argv.data(), i, value, error));
  EXPECT_EQ(value, "127.0.0.1:1");
  EXPECT_EQ(i, 2);
  i = 3;
  ASSERT_TRUE(MatchFlag("--listen", argc, argv.data(), i, value, error));
  EXPECT_EQ(value, "127.0.0.1:2");
  i = 4;
  ASSERT_TRUE(MatchFlag("--listen", argc, argv.data(), i, value, error));
  EXPECT_FALSE(error.empty());
  i = 1;
  EXPECT_FALSE(MatchFlag("--list", argc, argv.data(), i, value, error));
}

}  // namespace
}  // namespace rexec
