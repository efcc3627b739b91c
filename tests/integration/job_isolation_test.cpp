// A job holds none of the worker's memory or descriptors, with the sandbox on or off: jobs start
// from a module's template process, never from a fork of the worker. One client's arguments are
// out of reach of a later job of the same module, the worker's token is nowhere in a job's
// memory, and a job has no descriptor beyond its standard streams (the worker's listener was one).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/integration/send_command.h"
#include "tests/integration/worker_process.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Hex(const std::string& text) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : text) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

class JobIsolationTest : public ::testing::TestWithParam<bool> {};

TEST_P(JobIsolationTest, AJobHoldsNoOtherClientsArgumentsNoTokenAndNoWorkerDescriptor) {
  const std::string token = "token-that-no-job-may-read-7f3a9c";
  const std::string secret = "argument-of-client-A-5e21b8";
  TempDir dir;
  const std::string token_file = dir.Write("token", token);
  WorkerProcess worker({"--token-file", token_file, "--sandbox", GetParam() ? "on" : "off"});
  ASSERT_TRUE(worker.started()) << worker.log();
  auto send = [&](std::vector<std::string> args) {
    std::vector<std::string> command = {"--worker", worker.address(), "--token-file", token_file,
                                        ProgramPath("escape/scan_memory.c")};
    command.insert(command.end(), args.begin(), args.end());
    return RunSend(command);
  };

  // Client A: the secret is in its own job's memory, and the scan finds it there.
  ProcessResult a = send({"--", Hex(secret), "--", secret});
  ASSERT_EQ(a.exit_code, 0) << a;
  EXPECT_THAT(a.stdout_text, HasSubstr("FOUND 0")) << a;

  // Client B, the same module (so the same template): neither A's argument nor the token.
  ProcessResult b = send({"--", Hex(secret), Hex(token)});
  ASSERT_EQ(b.exit_code, 0) << b;
  EXPECT_THAT(b.stdout_text, HasSubstr("ABSENT 0")) << b;
  EXPECT_THAT(b.stdout_text, HasSubstr("ABSENT 1")) << b;
  EXPECT_THAT(b.stdout_text, Not(HasSubstr("FD "))) << b;
}

INSTANTIATE_TEST_SUITE_P(SandboxOnAndOff, JobIsolationTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Sandboxed" : "Unsandboxed";
                         });

}  // namespace
}  // namespace rexec::testing
