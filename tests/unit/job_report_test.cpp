#include <gtest/gtest.h>

#include "rexec/client.h"

namespace rexec {
namespace {

JobReport Report(JobReport::Outcome outcome, int code = 0) {
  JobReport report;
  report.outcome = outcome;
  report.code = code;
  return report;
}

TEST(JobReportTest, ShellExitCodesFollowShellConventions) {
  EXPECT_EQ(Report(JobReport::Outcome::kExited, 42).ShellExitCode(), 42);
  EXPECT_EQ(Report(JobReport::Outcome::kSignaled, 11).ShellExitCode(), 139);
  EXPECT_EQ(Report(JobReport::Outcome::kTimedOut).ShellExitCode(), 124);
  EXPECT_EQ(Report(JobReport::Outcome::kFailed).ShellExitCode(), 125);
}

TEST(JobReportTest, DescribesHowTheProgramEnded) {
  EXPECT_EQ(Report(JobReport::Outcome::kExited, 3).Describe(), "");
  EXPECT_EQ(Report(JobReport::Outcome::kSignaled, 11).Describe(),
            "program killed by signal 11 (SIGSEGV)");
  EXPECT_EQ(Report(JobReport::Outcome::kSignaled, 6).Describe(),
            "program killed by signal 6 (SIGABRT)");
  JobReport timeout = Report(JobReport::Outcome::kTimedOut);
  timeout.time_limit_ms = 2000;
  EXPECT_EQ(timeout.Describe(), "program exceeded its time limit (2 s)");
  timeout.time_limit_ms = 1500;
  EXPECT_EQ(timeout.Describe(), "program exceeded its time limit (1500 ms)");
  JobReport link = Report(JobReport::Outcome::kFailed);
  link.failure_stage = "link";
  link.message = "undefined symbol: foo";
  EXPECT_EQ(link.Describe(), "link failed on worker: undefined symbol: foo");
  JobReport thrown = Report(JobReport::Outcome::kException);
  thrown.exception_type = "std::runtime_error";
  thrown.message = "boom";
  EXPECT_EQ(thrown.Describe(), "command threw std::runtime_error: boom");
}

}  // namespace
}  // namespace rexec
