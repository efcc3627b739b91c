// Command jobs written carelessly cost their own client only: exit() from main() returns its code
// and output, with a note that no state came back; a job that leaves a thread or a child
// running retires its executor, so nothing of it reaches later jobs; a client that goes away
// mid-job frees its executor; and the wait for a free executor counts against --timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/send_command.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/subprocess.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::milliseconds;
using std::chrono::seconds;

class CarelessCommandTest : public SharedWorkerTest {
 protected:
  std::vector<std::string> Command(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--worker", worker().address()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(ProgramPath("careless/careless_commands.cpp"));
    args.push_back("--command");
    args.push_back(name);
    return args;
  }
  ProcessResult Run(const std::string& name, std::vector<std::string> extra = {}) {
    return RunSend(Command(name, std::move(extra)));
  }
  // Sleeper jobs running in the background. rexec-send prints a command's output only at its
  // end, so "started" is judged by time, after a first run has warmed every cache.
  std::vector<std::unique_ptr<Subprocess>> StartSleepers(int count, int ms) {
    ProcessResult warm = Run("Sleeper", {"--set", "ms=0"});
    EXPECT_EQ(warm.exit_code, 0) << warm;
    std::vector<std::unique_ptr<Subprocess>> sleepers;
    for (int i = 0; i < count; ++i) {
      sleepers.push_back(std::make_unique<Subprocess>(
          SendCommand(Command("Sleeper", {"--set", "ms=" + std::to_string(ms)})), SendOptions()));
    }
    std::this_thread::sleep_for(milliseconds(1500));
    for (auto& sleeper : sleepers) EXPECT_FALSE(sleeper->Exited()) << "a sleeper ended early";
    return sleepers;
  }
  static int Executors() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }
};

TEST_F(CarelessCommandTest, ExitFromMainReturnsItsCodeAndOutputAndSaysNoStateCameBack) {
  ProcessResult result = Run("Exiter", {"--set", "code=3", "--print-state"});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("leaving with 3")) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("called exit(3) before main() returned")) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("no state came back")) << result;
}

TEST_F(CarelessCommandTest, AJobThatLeavesAThreadOrAChildRunningRetiresItsExecutor) {
  for (const std::string leaver : {"ThreadLeaver", "ChildLeaver"}) {
    ProcessResult left = Run(leaver);
    ASSERT_EQ(left.exit_code, 0) << left;
    // Every executor of the module serves a few jobs now; none may carry the leftover's output.
    for (int i = 0; i < 4; ++i) {
      ProcessResult quiet = Run("Quiet");
      ASSERT_EQ(quiet.exit_code, 0) << quiet;
      EXPECT_THAT(quiet.stdout_text, Not(HasSubstr("stray"))) << leaver << ": " << quiet;
    }
  }
}

TEST_F(CarelessCommandTest, ClientsThatGoAwayMidJobFreeTheirExecutors) {
  // More cancelled jobs than the module has executors (one per core), in two rounds.
  for (int round = 0; round < 2; ++round) {
    for (auto& sleeper : StartSleepers(Executors(), 600000)) {
      sleeper->Signal(SIGKILL);
      sleeper->Wait(seconds(10));
    }
  }
  ProcessResult quiet = Run("Quiet", {"--timeout", "30"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet;
  EXPECT_THAT(quiet.stdout_text, HasSubstr("quiet 1")) << quiet;
}

TEST_F(CarelessCommandTest, TheWaitForAFreeExecutorCountsAgainstTheTimeout) {
  // Every executor of the module busy for 6 s; a job with a 1 s limit must not wait for them.
  std::vector<std::unique_ptr<Subprocess>> sleepers = StartSleepers(Executors(), 6000);
  auto started = std::chrono::steady_clock::now();
  ProcessResult waited = Run("Quiet", {"--timeout", "1"});
  EXPECT_EQ(waited.exit_code, 124) << waited;
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(4)) << waited;
  for (auto& sleeper : sleepers) {
    ProcessResult slept = sleeper->Wait(seconds(30));
    EXPECT_EQ(slept.exit_code, 0) << slept;
  }
}

}  // namespace
}  // namespace rexec::testing
