#include "core/exit_report.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>

namespace rexec {
namespace {

// What a waiting process learned about its job, from a process of its own (AwaitJobEnd keeps
// signals blocked and reaps every child).
struct Observed {
  bool reported = false;
  int exit_code = -1;    // -1: ended by a signal
  int signal = 0;
  bool prompt = false;  // learned within a second
};

Observed WaitForJob(const std::function<void()>& job) {
  int result[2];
  if (pipe(result) != 0) return {};
  const pid_t waiter = fork();
  if (waiter == 0) {
    close(result[0]);
    HoldExitReports();
    const pid_t child = fork();
    if (child == 0) {
      ReleaseExitReports();
      job();
      _exit(0);
    }
    const auto started = std::chrono::steady_clock::now();
    const JobEnd end = AwaitJobEnd(child);
    Observed observed;
    observed.prompt = std::chrono::steady_clock::now() - started < std::chrono::seconds(1);
    observed.reported = end.reported;
    if (WIFEXITED(end.wait_status)) observed.exit_code = WEXITSTATUS(end.wait_status);
    if (WIFSIGNALED(end.wait_status)) observed.signal = WTERMSIG(end.wait_status);
    kill(child, SIGKILL);  // after a report, what the waiting process does
    _exit(write(result[1], &observed, sizeof observed) == sizeof observed ? 0 : 1);
  }
  close(result[1]);
  Observed observed;
  if (read(result[0], &observed, sizeof observed) != sizeof observed) observed.exit_code = -2;
  close(result[0]);
  waitpid(waiter, nullptr, 0);
  return observed;
}

TEST(ExitReportTest, AReportEndsTheWaitBeforeTheJobHasEnded) {
  Observed observed = WaitForJob([] {
    ReportExitToParent();
    ReportExit(7);  // returns only after a second: the waiting process's kill ends the job first
    _exit(0);
  });
  EXPECT_TRUE(observed.reported);
  EXPECT_EQ(observed.exit_code, 7);
  EXPECT_TRUE(observed.prompt);
}

TEST(ExitReportTest, WithoutAReportTheJobsExitIsWhatCounts) {
  Observed exited = WaitForJob([] { _exit(3); });
  EXPECT_FALSE(exited.reported);
  EXPECT_EQ(exited.exit_code, 3);

  Observed killed = WaitForJob([] { raise(SIGABRT); });
  EXPECT_FALSE(killed.reported);
  EXPECT_EQ(killed.signal, SIGABRT);
}

TEST(ExitReportTest, OnlyTheJobsOwnProcessReports) {
  Observed observed = WaitForJob([] {
    ReportExitToParent();
    const pid_t waiter = getppid();
    const pid_t child = fork();
    if (child == 0) {
      ReportExit(5);  // a forked child that exits is not the job ending
      sigval forged{};
      forged.sival_int = 6;
      sigqueue(waiter, SIGRTMIN, forged);  // nor does a report from anyone but the job count
      _exit(0);
    }
    waitpid(child, nullptr, 0);
    usleep(50 * 1000);  // time for a wrongly counted report to be seen first
    _exit(4);
  });
  EXPECT_FALSE(observed.reported);
  EXPECT_EQ(observed.exit_code, 4);
}

TEST(ExitReportTest, AParentWaitsUntilTheStatusIsTakenNotForTheTimeout) {
  constexpr int kWaitStatus = 3 << 8;  // exited with 3
  int status[2];
  ASSERT_EQ(pipe(status), 0);
  const pid_t reader = fork();
  if (reader == 0) {
    close(status[1]);
    int taken = 0;
    if (read(status[0], &taken, sizeof taken) != sizeof taken || taken != kWaitStatus) _exit(1);
    usleep(100 * 1000);
    _exit(0);  // closes the read end
  }
  close(status[0]);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(PassOnStatus(status[1], kWaitStatus));
  const auto waited = std::chrono::steady_clock::now() - started;
  close(status[1]);
  int reader_status = 0;
  waitpid(reader, &reader_status, 0);
  EXPECT_EQ(reader_status, 0) << "the reader did not get the status";
  EXPECT_GE(waited, std::chrono::milliseconds(50));  // the reader still held it
  EXPECT_LT(waited, std::chrono::milliseconds(900));  // its close, not the one-second bound
}

}  // namespace
}  // namespace rexec
