// rexec-worker --metrics: the Prometheus page of a real worker, scraped over HTTP while
// rexec-send runs jobs through it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/integration/loopback.h"
#include "tests/integration/send_command.h"
#include "tests/integration/worker_process.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The value of one sample ("name{labels}") on a page, or -1 if it is not there.
double Sample(const std::string& page, const std::string& series) {
  std::string escaped = std::regex_replace(series, std::regex(R"([{}"+.])"), R"(\$&)");
  std::smatch match;
  if (!std::regex_search(page, match, std::regex("\n" + escaped + " ([^\n]+)\n"))) return -1;
  return std::stod(match[1]);
}

TEST(WorkerMetricsTest, CountsJobsByOutcomeAndTimesCompilesAndRuns) {
  WorkerProcess worker({"--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ASSERT_NE(worker.metrics_port(), 0) << worker.log();

  std::string before = HttpGet(worker.metrics_port(), "/metrics");
  ASSERT_THAT(before, StartsWith("HTTP/1.1 200")) << before;
  EXPECT_EQ(Sample(before, R"(rexec_jobs_total{outcome="exited"})"), 0) << before;
  EXPECT_EQ(Sample(before, "rexec_executors_alive"), 0) << before;
  EXPECT_THAT(before, Not(HasSubstr("rexec_queue_"))) << "no queue, no queue metrics";

  auto send = [&worker](std::vector<std::string> args) {
    args.insert(args.begin(), {"--worker", worker.address()});
    return RunSend(args);
  };
  EXPECT_EQ(send({ProgramPath("hello.cpp")}).exit_code, 0);
  EXPECT_EQ(send({ProgramPath("hello.cpp")}).exit_code, 0);
  EXPECT_EQ(send({ProgramPath("exit_code.cpp")}).exit_code, 42);
  EXPECT_EQ(send({ProgramPath("segfault.c")}).exit_code, 128 + 11);
  ProcessResult command = send({ProgramPath("commands/sample_commands.cpp"), "--command",
                                "Square", "--set", "value=3"});
  EXPECT_EQ(command.exit_code, 0) << command;

  std::string after = HttpGet(worker.metrics_port(), "/metrics");
  EXPECT_EQ(Sample(after, R"(rexec_jobs_total{outcome="exited"})"), 4) << after;
  EXPECT_EQ(Sample(after, R"(rexec_jobs_total{outcome="signaled"})"), 1) << after;
  EXPECT_EQ(Sample(after, R"(rexec_jobs_total{outcome="failed"})"), 0) << after;
  // Four modules compiled once each; hello's second run found its code cached.
  EXPECT_EQ(Sample(after, "rexec_compile_seconds_count"), 4) << after;
  EXPECT_EQ(Sample(after, R"(rexec_code_loads_total{source="compiled"})"), 4) << after;
  EXPECT_EQ(Sample(after, R"(rexec_code_loads_total{source="linked"})"), 1) << after;
  // Each module was first asked for before the client uploaded it.
  EXPECT_EQ(Sample(after, R"(rexec_code_loads_total{source="missing"})"), 4) << after;
  EXPECT_EQ(Sample(after, "rexec_run_seconds_count"), 5) << after;
  EXPECT_GT(Sample(after, "rexec_run_seconds_sum"), 0) << after;
  // The command's executor stays up for the next job.
  EXPECT_EQ(Sample(after, "rexec_executors_alive"), 1) << after;
  EXPECT_GE(Sample(after, "rexec_linked_modules"), 1) << after;
}

TEST(WorkerMetricsTest, CountsInputFileChecksAndUploads) {
  WorkerProcess worker({"--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(worker.started()) << worker.log();
  TempDir dir;
  const std::string input = dir.Write("ten.txt", "0123456789");
  for (int run = 0; run < 2; ++run) {
    ProcessResult sent = RunSend({"--worker", worker.address(), ProgramPath("hello.cpp"),
                                  "--input", input + ":ten.txt"});
    EXPECT_EQ(sent.exit_code, 0) << sent;
  }
  std::string page = HttpGet(worker.metrics_port(), "/metrics");
  EXPECT_EQ(Sample(page, "rexec_file_missing_checks_total"), 2) << page;
  EXPECT_EQ(Sample(page, "rexec_file_upload_bytes_total"), 10) << page;
  EXPECT_EQ(Sample(page, "rexec_file_store_bytes"), 10) << page;
}

TEST(WorkerMetricsTest, AnAddressInUseIsAClearErrorAtStart) {
  WorkerProcess first({"--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(first.started()) << first.log();
  WorkerProcess second({"--metrics", "127.0.0.1:" + std::to_string(first.metrics_port())});
  EXPECT_FALSE(second.started());
  EXPECT_THAT(second.log(), HasSubstr("metrics")) << second.log();
}

}  // namespace
}  // namespace rexec::testing
