#include "compiler/compile_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rexec {
namespace {

using ::testing::HasSubstr;

TEST(CompileFlagsTest, AcceptsTheFlagsThatShapeAProgram) {
  EXPECT_TRUE(ValidateCompileFlags({"-O0", "-O2", "-O3", "-Os", "-g", "-std=c++20", "-DN=5", "-UX",
                                    "-Iinc", "-I", "dir", "-D", "Y", "-isystem", "sys", "-w",
                                    "-Wall", "-Werror", "-fno-exceptions", "-pthread"})
                  .ok());
}

TEST(CompileFlagsTest, RefusesFlagsThatChangeTargetOrOutput) {
  for (const char* flag : {"-o", "-c", "-S", "-march=native", "-target", "-shared", "--foo"}) {
    absl::Status status = ValidateCompileFlags({flag});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << flag;
    EXPECT_THAT(std::string(status.message()), HasSubstr(flag));
  }
  EXPECT_FALSE(ValidateCompileFlags({"-fplugin=evil.so"}).ok());
  EXPECT_FALSE(ValidateCompileFlags({"-fsanitize=address"}).ok());
}

TEST(CompileFlagsTest, SeparateValueMustBePresent) {
  EXPECT_FALSE(ValidateCompileFlags({"-I"}).ok());
  EXPECT_TRUE(CompileFlagTakesValue("-I"));
  EXPECT_FALSE(CompileFlagTakesValue("-Iinc"));
}

}  // namespace
}  // namespace rexec
