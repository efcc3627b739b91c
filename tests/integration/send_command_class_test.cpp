// rexec-send with command classes: --list, --command, --set, --print-state, --state-out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "tests/integration/send_command.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;

class SendCommandClassTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    worker_ = new WorkerProcess();
    ASSERT_TRUE(worker_->started()) << worker_->log();
  }
  static void TearDownTestSuite() { delete worker_; }

  static ProcessResult Send(std::vector<std::string> args) {
    args.insert(args.begin(), {"--worker", worker_->address(),
                               ProgramPath("commands/sample_commands.cpp")});
    return RunSend(args);
  }

  static WorkerProcess* worker_;
};

WorkerProcess* SendCommandClassTest::worker_ = nullptr;

TEST_F(SendCommandClassTest, ACommandsOutputStreamsWhileItRuns) {
  Subprocess send(SendCommand({"--worker", worker_->address(),
                               ProgramPath("commands/streaming_command.cpp")}),
                  SendOptions());
  // The command pauses 2 s between its lines: the first arrives before it ends.
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "before the pause\n", milliseconds(60'000)))
      << send.output(Stream::kStdout) << send.output(Stream::kStderr) << worker_->log();
  const auto first_line_at = std::chrono::steady_clock::now();
  EXPECT_FALSE(send.Exited()) << "the first line came only at the end";
  ProcessResult done = send.Wait(milliseconds(30'000));
  // Not merely before the client exited: before the pause ended.
  EXPECT_GE(std::chrono::steady_clock::now() - first_line_at, milliseconds(1'000))
      << "the first line came only at the end";
  EXPECT_EQ(done.exit_code, 0) << done;
  EXPECT_EQ(done.stdout_text, "before the pause\nafter the pause\n") << done;
  EXPECT_EQ(done.stderr_text, "stderr before the pause\n") << done;
}

TEST_F(SendCommandClassTest, ListPrintsEveryCommandWithItsFields) {
  ProcessResult result = Send({"--list"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("SampleCommand2\n  message: string\n  xs: vector<f64>\n"
                                            "  repeat: i32\n  total: f64\n"
                                            "  counts: map<string,i32>\n"
                                            "  centroid: optional<{x:f64,y:f64}>\n"));
  EXPECT_THAT(result.stdout_text, HasSubstr("Square\n  value: i64\n"));
}

TEST_F(SendCommandClassTest, SetFieldsRunAndPrintTheReturnedState) {
  TempDir dir;
  std::string state_file = (dir.path() / "state.json").string();
  ProcessResult result =
      Send({"--command", "SampleCommand2", "--set", "message=hello", "--set", "xs=[1,2.5]",
            "--set", "repeat=3", "--print-state", "--state-out", state_file});
  EXPECT_EQ(result.exit_code, 3) << result;  // main() returns repeat
  EXPECT_THAT(result.stdout_text, HasSubstr("hello\nhello\nhello\n{\n"));
  EXPECT_THAT(result.stdout_text, HasSubstr("\"total\": 3.5"));
  EXPECT_THAT(result.stdout_text, HasSubstr("\"counts\": {\n    \"hello\": 1\n  }"));
  std::stringstream written;
  written << std::ifstream(state_file).rdbuf();
  EXPECT_THAT(written.str(), HasSubstr("\"total\": 3.5"));
}

TEST_F(SendCommandClassTest, UnsetFieldsKeepTheClassDefaults) {
  ProcessResult result = Send({"--command", "SampleCommand2", "--print-state"});
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("hi\n"));  // the default message
  EXPECT_THAT(result.stdout_text, HasSubstr("\"message\": \"hi\""));
}

TEST_F(SendCommandClassTest, SeveralCommandsAndNoneChosenListsThem) {
  ProcessResult result = Send({"--set", "value=3"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("choose one with --command: SampleCommand2, Square, Thrower"));
}

TEST_F(SendCommandClassTest, BadAssignmentsAreClearErrors) {
  ProcessResult unknown = Send({"--command", "Square", "--set", "nope=1"});
  EXPECT_EQ(unknown.exit_code, 125);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("unknown field 'nope'; the fields are: value"));
  ProcessResult wrong = Send({"--command", "Square", "--set", "value=\"x\""});
  EXPECT_EQ(wrong.exit_code, 125);
  EXPECT_THAT(wrong.stderr_text, HasSubstr("field 'value': expected i64"));
  ProcessResult missing = Send({"--command", "Cube"});
  EXPECT_THAT(missing.stderr_text, HasSubstr("no command named 'Cube'"));
}

TEST_F(SendCommandClassTest, AnEscapingExceptionIsReportedWithItsTypeAndWhat) {
  ProcessResult result = Send({"--command", "Thrower", "--set", "reason=bad input"});
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("rexec: command threw std::invalid_argument: bad input"));
}

TEST_F(SendCommandClassTest, TheSeedExampleRunsFromItsSource) {
  ProcessResult result = RunSend({"--worker", worker_->address(),
                                  ProgramPath("../../examples/seed/commands.cpp"), "--command",
                                  "SampleCommand1", "--set", "text=a b a", "--print-state"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("\"a\": 2"));
}

}  // namespace
}  // namespace rexec::testing
