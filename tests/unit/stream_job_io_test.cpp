#include "client/stream_job_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

// What makes a program job say Program.noInput: only an input that can do nothing but end.
TEST(StreamJobIoTest, OnlyNoDescriptorAndDevNullHaveNoInput) {
  EXPECT_TRUE(HasNoInput(-1));
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null, 0);
  EXPECT_TRUE(HasNoInput(null));
  close(null);

  int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(zero, 0);
  EXPECT_FALSE(HasNoInput(zero));
  close(zero);
  int ends[2];
  ASSERT_EQ(pipe2(ends, O_CLOEXEC), 0);
  EXPECT_FALSE(HasNoInput(ends[0]));
  close(ends[0]);
  close(ends[1]);
  // Empty now, but the job may expect it to be read where it is (and it may grow).
  testing::TempDir dir;
  int file = open(dir.Write("empty.txt", "").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0);
  EXPECT_FALSE(HasNoInput(file));
  close(file);
}

}  // namespace
}  // namespace rexec
