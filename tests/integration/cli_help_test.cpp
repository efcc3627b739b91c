// The command lines of rexec-send and rexec-worker: --help, --version and bad options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/send_command.h"
#include "tests/integration/subprocess.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr milliseconds kCliTimeout{20'000};

ProcessResult RunWorker(const std::vector<std::string>& args) {
  std::vector<std::string> command = {WorkerBinary()};
  command.insert(command.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout = kCliTimeout;  // a worker that starts serving instead would be killed here
  return RunProcess(command, options);
}

ProcessResult RunSendCli(const std::vector<std::string>& args) {
  ProcessOptions options;
  options.timeout = kCliTimeout;
  return RunSend(args, options);
}

// Everything after the first line of `--version`: the LLVM and protocol versions.
std::string AfterFirstLine(const std::string& text) { return text.substr(text.find('\n') + 1); }

TEST(CliHelpTest, SendHelpDescribesEveryOption) {
  ProcessResult result = RunSendCli({"--help"});
  EXPECT_EQ(result.exit_code, 0) << result;
  for (const char* option :
       {"--worker", "--token-file", "--tls-ca", "--tls-cert", "--tls-key", "--timeout", "--memory",
        "--max-output", "--no-cache", "--verbose", "--help", "--version", "[-- ARG...]",
        "Arguments after -- ", "FILE.a, FILE.o", "FILE.bc", "-LDIR", "-lNAME", "--input",
        "--output", "--max-output-files"}) {
    EXPECT_THAT(result.stdout_text, HasSubstr(option)) << "--help does not mention " << option;
  }
  EXPECT_EQ(result.stderr_text, "") << result;
}

TEST(CliHelpTest, WorkerHelpDescribesEveryOption) {
  ProcessResult result = RunWorker({"--help"});
  EXPECT_EQ(result.exit_code, 0) << result;
  for (const char* option : {"--listen", "--token-file", "--tls-cert", "--tls-key",
                             "--tls-client-ca", "--cache-dir", "--no-disk-cache",
                             "--cache-max-bytes", "--memory-cache", "--max-module", "--timeout",
                             "--max-timeout", "--memory", "--max-output", "--max-connections",
                             "--login-timeout", "--idle-timeout", "--max-jobs",
                             "--max-jobs-per-connection", "--max-input", "--max-output-files",
                             "--file-store-max", "--verbose", "--help", "--version"}) {
    EXPECT_THAT(result.stdout_text, HasSubstr(option)) << "--help does not mention " << option;
  }
  EXPECT_EQ(result.stderr_text, "") << result;
}

TEST(CliHelpTest, SendVersionNamesRexecLlvmAndProtocol) {
  ProcessResult result = RunSendCli({"--version"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text,
              MatchesRegex("rexec-send [0-9]+\\.[0-9]+\\.[0-9]+\nLLVM 19\\.[0-9]+\\.[0-9]+\n"
                           "protocol [0-9]+\n"))
      << result;
}

TEST(CliHelpTest, WorkerVersionNamesRexecLlvmAndProtocol) {
  ProcessResult result = RunWorker({"--version"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text,
              MatchesRegex("rexec-worker [0-9]+\\.[0-9]+\\.[0-9]+\nLLVM 19\\.[0-9]+\\.[0-9]+\n"
                           "protocol [0-9]+\n"))
      << result;
}

TEST(CliHelpTest, SendAndWorkerOfOneBuildReportTheSameVersions) {
  ProcessResult send = RunSendCli({"--version"});
  ProcessResult worker = RunWorker({"--version"});
  EXPECT_EQ(AfterFirstLine(send.stdout_text), AfterFirstLine(worker.stdout_text));
  EXPECT_EQ(send.stdout_text.substr(send.stdout_text.find(' ')),
            worker.stdout_text.substr(worker.stdout_text.find(' ')));
}

TEST(CliHelpTest, SendRejectsAnUnknownOption) {
  ProcessResult result = RunSendCli({"--no-such-option", ProgramPath("hello.cpp")});
  EXPECT_NE(result.exit_code, 0) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("unknown option --no-such-option")) << result;
  EXPECT_EQ(result.stdout_text, "") << "the program must not have run: " << result;
}

TEST(CliHelpTest, WorkerRejectsAnUnknownOptionInsteadOfServing) {
  ProcessResult result = RunWorker({"--listen", "127.0.0.1:0", "--no-such-option"});
  EXPECT_FALSE(result.timed_out) << result;
  EXPECT_NE(result.exit_code, 0) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("unknown option --no-such-option")) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("listening"))) << result;
}

TEST(CliHelpTest, SendWithoutSourcesSaysSo) {
  ProcessResult result = RunSendCli({});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: no source files given")) << result;
}

TEST(CliHelpTest, SendRejectsAnOptionMissingItsValue) {
  ProcessResult result = RunSendCli({ProgramPath("hello.cpp"), "--timeout"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("--timeout needs a value")) << result;
  EXPECT_EQ(result.stdout_text, "") << result;
}

TEST(CliHelpTest, SendRejectsATimeoutThatIsNotANumber) {
  ProcessResult result = RunSendCli({"--timeout", "soon", ProgramPath("hello.cpp")});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("'soon' is not a number of seconds")) << result;
  EXPECT_EQ(result.stdout_text, "") << result;
}

}  // namespace
}  // namespace rexec::testing
