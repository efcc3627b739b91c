#include "core/relative_path.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace rexec {
namespace {

using ::testing::HasSubstr;

TEST(RelativePathTest, AcceptsPathsBelowTheWorkingDirectory) {
  for (const char* path : {"a", "a.txt", "data/in/a.csv", "..a", "a..", ".hidden/x", "a b/c"}) {
    EXPECT_TRUE(CheckJobPath(path).ok()) << path << ": " << CheckJobPath(path);
  }
}

TEST(RelativePathTest, RefusesPathsThatCouldLeaveIt) {
  const std::pair<const char*, const char*> refused[] = {
      {"", "is empty"},
      {"/etc/passwd", "is absolute"},
      {"..", "'..' component"},
      {"a/../../b", "'..' component"},
      {"a/..", "'..' component"},
      {"a//b", "empty or '.' component"},
      {"./a", "empty or '.' component"},
      {"a/", "empty or '.' component"},
  };
  for (const auto& [path, why] : refused) {
    EXPECT_THAT(CheckJobPath(path).message(), HasSubstr(why)) << path;
  }
  EXPECT_THAT(CheckJobPath(std::string("a\0b", 3)).message(), HasSubstr("NUL or newline"));
  EXPECT_THAT(CheckJobPath("a\nb").message(), HasSubstr("NUL or newline"));
  EXPECT_THAT(CheckJobPath(std::string(kMaxJobPathBytes + 1, 'a')).message(),
              HasSubstr("longer than"));
  EXPECT_THAT(CheckJobPath(std::string(256, 'a')).message(), HasSubstr("longer than 255"));
}

TEST(RelativePathTest, WithinMeansTheSameOrBelow) {
  EXPECT_TRUE(JobPathWithin("out", "out"));
  EXPECT_TRUE(JobPathWithin("out/a.txt", "out"));
  EXPECT_FALSE(JobPathWithin("outer/a.txt", "out"));
  EXPECT_FALSE(JobPathWithin("ou", "out"));
}

}  // namespace
}  // namespace rexec
