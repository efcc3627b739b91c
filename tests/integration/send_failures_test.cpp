// How rexec-send reports each way a job can fail, with the exit codes from DESIGN.md, and that
// the worker serves on after every one of them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "tests/integration/loopback.h"
#include "tests/integration/process_tree.h"
#include "tests/integration/send_command.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class SendFailuresTest : public SharedWorkerTest {
 protected:
  void TearDown() override {
    if (worker().started()) ExpectWorkerRunsHello();
  }
};

// How many files the worker keeps in its cache directory.
int CachedFiles(const WorkerProcess& worker) {
  int count = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(worker.cache_dir(), error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    count += it->is_regular_file() ? 1 : 0;
  }
  return count;
}

TEST_F(SendFailuresTest, CompileErrorPrintsClangDiagnosticAndExits125) {
  int cached_before = CachedFiles(worker());
  ProcessResult result = Send({ProgramPath("compile_error.cpp")});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("compile_error.cpp:5:10: error: use of undeclared identifier "
                        "'undeclared_identifier'"))
      << result;
  EXPECT_EQ(result.stdout_text, "") << result;
  EXPECT_EQ(CachedFiles(worker()), cached_before) << "something reached the worker";
}

TEST_F(SendFailuresTest, UndefinedSymbolFailsTheLinkOnTheWorkerAndExits125) {
  ProcessResult result = Send({ProgramPath("undefined_symbol.cpp")});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: link failed on worker: undefined symbol: "
                                            "rexec_test_function_defined_nowhere"))
      << result;
}

TEST_F(SendFailuresTest, SegfaultIsReportedAsSigsegvAndExits139) {
  ProcessResult result = Send({ProgramPath("segfault.c")});
  EXPECT_EQ(result.exit_code, 139) << result;
  EXPECT_EQ(result.stdout_text, "about to crash\n") << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: program killed by signal 11 (SIGSEGV)\n"))
      << result;
}

TEST_F(SendFailuresTest, AbortIsReportedAsSigabrtAndExits134) {
  ProcessResult result = Send({ProgramPath("abort.cpp")});
  EXPECT_EQ(result.exit_code, 134) << result;
  EXPECT_EQ(result.stdout_text, "about to abort\n") << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: program killed by signal 6 (SIGABRT)\n"))
      << result;
}

TEST_F(SendFailuresTest, UncaughtExceptionEndsInStdTerminateLikeANativeProgram) {
  ProcessResult result = Send({ProgramPath("uncaught_exception.cpp")});
  EXPECT_EQ(result.exit_code, 134) << result;
  EXPECT_EQ(result.stdout_text, "before the throw\n") << result;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("terminate called after throwing an instance of 'std::runtime_error'\n"
                        "  what():  uncaught boom\n"))
      << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: program killed by signal 6 (SIGABRT)\n"))
      << result;
  EXPECT_THAT(result.stderr_text, Not(HasSubstr("kj/"))) << "the worker's own code ran: " << result;
}

// The program also blocks and ignores every catchable signal: the time limit must still hold.
TEST_F(SendFailuresTest, EndlessLoopIsStoppedAtItsTimeoutAndExits124) {
  ProcessResult result = Send({"--timeout", "2", ProgramPath("endless_loop.cpp")});
  EXPECT_EQ(result.exit_code, 124) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: program exceeded its time limit (2 s)\n"))
      << result;
  EXPECT_GE(result.elapsed, milliseconds(2000)) << result;
  EXPECT_LT(result.elapsed, milliseconds(8000)) << result;
}

TEST_F(SendFailuresTest, OutputLimitStopsAFloodAndExits125) {
  ProcessResult result = Send({"--max-output", "1K", ProgramPath("output_flood.cpp")});
  EXPECT_EQ(result.exit_code, 125) << result.stderr_text;
  EXPECT_EQ(result.stdout_text.size(), 1024u) << result.stderr_text;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("rexec: program exceeded its output limit (1024 bytes) and was killed\n"))
      << result.stderr_text;
  EXPECT_LT(result.elapsed, milliseconds(10'000));
}

TEST_F(SendFailuresTest, MemoryLimitMakesLargeAllocationsFail) {
  ProcessResult unlimited = Send({ProgramPath("allocate.cpp")});
  EXPECT_EQ(unlimited.exit_code, 0) << unlimited;
  EXPECT_EQ(unlimited.stdout_text, "allocated 256 MiB\n") << unlimited;

  ProcessResult limited = Send({"--memory", "64M", ProgramPath("allocate.cpp")});
  EXPECT_EQ(limited.exit_code, 3) << limited;
  EXPECT_EQ(limited.stdout_text, "allocation of 256 MiB failed\n") << limited;
}

// Shared anonymous memory is outside the data segment: the limit must count it anyway.
TEST_F(SendFailuresTest, MemoryLimitCoversSharedAnonymousMemory) {
  ProcessResult limited = Send({"--memory", "256M", ProgramPath("shared_memory.c")});
  EXPECT_EQ(limited.exit_code, 3) << limited;
  EXPECT_EQ(limited.stdout_text, "mapping 1 GiB of shared memory failed\n") << limited;
}

TEST_F(SendFailuresTest, ProgramExitCodePassesThrough) {
  ProcessResult result = Send({ProgramPath("exit_code.cpp")});
  EXPECT_EQ(result.exit_code, 42) << result;
  EXPECT_EQ(result.stderr_text, "") << result;
}

TEST_F(SendFailuresTest, UnreachableWorkerExits255) {
  std::string address = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  ProcessResult result = RunSend({"--worker", address, ProgramPath("hello.cpp")});
  EXPECT_EQ(result.exit_code, 255) << result;
  EXPECT_THAT(result.stderr_text, StartsWith("rexec: cannot reach worker at " + address + ": "))
      << result;
  EXPECT_EQ(result.stdout_text, "") << result;
  EXPECT_LT(result.elapsed, milliseconds(10'000)) << result;
}

// A worker's limits apply to jobs that ask for less or nothing.
TEST(WorkerLimitsTest, WorkerTimeoutAppliesToJobsThatAskForNone) {
  WorkerProcess worker({"--timeout", "1", "--max-timeout", "2"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult result = RunSend({"--worker", worker.address(), ProgramPath("long_running.cpp")});
  EXPECT_EQ(result.exit_code, 124) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: program exceeded its time limit (1 s)\n"))
      << result;
}

TEST(WorkerLimitsTest, WorkerMaxTimeoutCapsLongerRequests) {
  WorkerProcess worker({"--timeout", "1", "--max-timeout", "2"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult result =
      RunSend({"--worker", worker.address(), "--timeout", "30", ProgramPath("long_running.cpp")});
  EXPECT_EQ(result.exit_code, 124) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: program exceeded its time limit (2 s)\n"))
      << result;
  EXPECT_LT(result.elapsed, milliseconds(10'000)) << result;
}

// A worker of its own, running a job that lasts a minute unless something stops it.
class LongRunningJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(worker_.started()) << worker_.log();
    send_ = std::make_unique<Subprocess>(
        SendCommand({"--worker", worker_.address(), ProgramPath("long_running.cpp")}),
        SendOptions());
    ASSERT_TRUE(send_->started()) << send_->error();
    ASSERT_TRUE(send_->WaitForOutput(Stream::kStdout, "\n", milliseconds(60'000)))
        << "the job did not start: " << send_->output(Stream::kStderr) << worker_.log();
    std::smatch match;
    const std::string& out = send_->output(Stream::kStdout);
    ASSERT_TRUE(std::regex_search(out, match, std::regex("running as pid ([0-9]+)\n"))) << out;
    // The pid the program sees is its own namespace's when sandboxed.
    job_pid_ = HostPidOf(worker_.pid(), std::stoi(match[1]));
    ASSERT_NE(job_pid_, 0) << "no process of the worker's is the job's pid " << match[1];
  }

  void TearDown() override {
    if (job_pid_ > 0 && JobIsAlive()) kill(job_pid_, SIGKILL);  // started by this test
  }

  // Whether the job's process still exists, other than as a zombie nobody reaps.
  bool JobIsAlive() const { return ProcessIsAlive(job_pid_); }

  // Whether the job's process is gone within `timeout`.
  bool JobEndsWithin(milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (JobIsAlive()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return true;
  }

  WorkerProcess worker_;
  std::unique_ptr<Subprocess> send_;
  pid_t job_pid_ = 0;
};

TEST_F(LongRunningJobTest, OtherClientsAreServedWhileItRuns) {
  ProcessResult hello = RunSend({"--worker", worker_.address(), ProgramPath("hello.cpp")});
  EXPECT_EQ(hello.exit_code, 0) << hello;
  EXPECT_EQ(hello.stdout_text, "hello from rexec\n") << hello;
  EXPECT_LT(hello.elapsed, milliseconds(20'000)) << hello;
  EXPECT_TRUE(JobIsAlive());
}

TEST_F(LongRunningJobTest, LostWorkerIsReportedWithExit255WithoutHanging) {
  worker_.Kill();
  ProcessResult result = send_->Wait(milliseconds(15'000));
  EXPECT_FALSE(result.timed_out) << "rexec-send hung after its worker died: " << result;
  EXPECT_EQ(result.exit_code, 255) << result;
  EXPECT_THAT(result.stderr_text, StartsWith("rexec: ")) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr(worker_.address())) << result;
}

TEST_F(LongRunningJobTest, JobDoesNotOutliveItsWorker) {
  worker_.Kill();
  EXPECT_TRUE(JobEndsWithin(milliseconds(5000)))
      << "the job " << job_pid_ << " kept running 5 s after its worker was killed";
}

TEST_F(LongRunningJobTest, JobDoesNotOutliveItsInterruptedClient) {
  send_->Signal(SIGINT);  // Ctrl-C
  ProcessResult result = send_->Wait(milliseconds(10'000));
  EXPECT_FALSE(result.timed_out) << "rexec-send ignored SIGINT: " << result;
  EXPECT_TRUE(JobEndsWithin(milliseconds(5000)))
      << "the job " << job_pid_ << " kept running 5 s after its client was interrupted";
  ExpectHelloRunsOn(worker_);
}

// Stopped with a client's job in flight, the worker ends that job's call before it frees what
// the call refers to (the RPC system's tasks outlive the server: job_runner.h's `calls`).
TEST_F(LongRunningJobTest, WorkerStopsCleanlyOnSigtermWhileAClientsJobRuns) {
  ProcessResult stopped = worker_.Stop(milliseconds(5000));
  EXPECT_FALSE(stopped.timed_out) << "SIGTERM did not stop the worker within 5 s";
  EXPECT_TRUE(stopped.exited) << stopped;
  EXPECT_EQ(stopped.exit_code, 0) << stopped;
  EXPECT_TRUE(JobEndsWithin(milliseconds(5000)))
      << "the job " << job_pid_ << " kept running 5 s after its worker stopped";
}

TEST_F(LongRunningJobTest, WorkerStopsPromptlyOnSigtermAfterItsClientWasInterrupted) {
  send_->Signal(SIGINT);
  send_->Wait(milliseconds(10'000));
  ProcessResult stopped = worker_.Stop(milliseconds(5000));
  EXPECT_FALSE(stopped.timed_out) << "SIGTERM did not stop the worker within 5 s";
  EXPECT_EQ(stopped.exit_code, 0) << stopped;
}

}  // namespace
}  // namespace rexec::testing
