// A job holds none of the worker's memory or descriptors, with the sandbox on or off: jobs start
// from a module's template process, never from a fork of the worker. One client's arguments are
// out of reach of a later job of the same module, the worker's token is nowhere in a job's
// memory, and a job has no descriptor beyond its standard streams (the worker's listener was one).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/process_tree.h"
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

// Without the sandbox's pid namespace, the job's shim (a subreaper) still ends every process the
// job started, sessions of their own included, whether the job exits or is killed at its
// timeout; and the timeout bounds the result even while those processes hold stdout open.
TEST(UnsandboxedJobTest, EveryProcessAJobStartedEndsWithIt) {
  WorkerProcess worker({"--sandbox", "off"});
  ASSERT_TRUE(worker.started()) << worker.log();
  for (const std::string mode : {"exit", "hang"}) {
    auto started = std::chrono::steady_clock::now();
    ProcessResult result = RunSend({"--worker", worker.address(), "--timeout", "2",
                                    ProgramPath("escape/stuck_children.c"), "--", mode});
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(result.exit_code, mode == "exit" ? 0 : 124) << result;
    EXPECT_LT(took, std::chrono::seconds(10)) << mode << ": the result waited for the leftovers";
    int daemon = 0, holder = 0;
    ASSERT_EQ(std::sscanf(result.stdout_text.c_str(), "daemon %d holder %d", &daemon, &holder), 2)
        << result;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((ProcessIsAlive(daemon) || ProcessIsAlive(holder)) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_FALSE(ProcessIsAlive(daemon)) << mode << ": the daemon outlived its job";
    EXPECT_FALSE(ProcessIsAlive(holder)) << mode << ": the child holding stdout outlived its job";
  }
}

INSTANTIATE_TEST_SUITE_P(SandboxOnAndOff, JobIsolationTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Sandboxed" : "Unsandboxed";
                         });

}  // namespace
}  // namespace rexec::testing
