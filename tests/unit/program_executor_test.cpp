#include "runtime/exec/program_executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>

#include "tests/support/link_source.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;

class ProgramExecutorTest : public ::testing::Test {
 protected:
  ProgramExecutorTest()
      : io_(std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo())),
        context_{*io_->lowLevelProvider, io_->unixEventPort, io_->provider->getTimer()} {}

  std::shared_ptr<const ModuleTemplate> Link(const std::string& source) {
    return testing::LinkSource(source);
  }

  JobOutcome Run(std::shared_ptr<const ModuleTemplate> module, BufferedJobIo& output,
                 JobLimits limits = {}, std::vector<std::string> argv = {"prog"}) {
    return RunProgram(context_, std::move(module), std::move(argv), limits, output)
        .wait(io_->waitScope);
  }

  // Held by pointer: kj::AsyncIoContext may throw from its destructor; a test fixture may not.
  std::unique_ptr<kj::AsyncIoContext> io_;
  ExecutionContext context_;
};

TEST_F(ProgramExecutorTest, RunsMainWithArgumentsAndCollectsOutput) {
  auto module = Link(R"(
    #include <cstdio>
    int main(int argc, char** argv) {
      std::printf("%s %s\n", argv[0], argv[1]);
      std::fprintf(stderr, "argc=%d\n", argc);
      return 3;
    })");
  BufferedJobIo output;
  JobOutcome outcome = Run(module, output, {}, {"prog", "arg"});
  EXPECT_EQ(outcome.kind, JobOutcome::Kind::kExited);
  EXPECT_EQ(outcome.code, 3);
  EXPECT_EQ(output.stdout_text(), "prog arg\n");
  EXPECT_EQ(output.stderr_text(), "argc=2\n");
}

TEST_F(ProgramExecutorTest, EveryRunSeesFreshGlobals) {
  auto module = Link(R"(
    #include <cstdio>
    int counter = 0;
    struct Bump { Bump() { ++counter; } } bump;
    int main() { std::printf("%d\n", ++counter); return 0; })");
  for (int run = 0; run < 3; ++run) {
    BufferedJobIo output;
    Run(module, output);
    EXPECT_EQ(output.stdout_text(), "2\n") << "run " << run;
  }
}

TEST_F(ProgramExecutorTest, ExitRunsTheProgramsHandlersAndStaticDestructors) {
  auto module = Link(R"(
    #include <cstdlib>
    #include <iostream>
    struct Global { ~Global() { std::cout << "destroyed\n"; } } global;
    void deep(int n) { if (n == 0) std::exit(9); deep(n - 1); }
    int main() {
      std::atexit([] { std::cout << "atexit\n"; });
      std::cout << "buffered without newline";
      deep(50);
    })");
  BufferedJobIo output;
  JobOutcome outcome = Run(module, output);
  EXPECT_EQ(outcome.code, 9);
  EXPECT_EQ(output.stdout_text(), "buffered without newlineatexit\ndestroyed\n");
}

TEST_F(ProgramExecutorTest, ReportsSignals) {
  auto module = Link("#include <cstdlib>\nint main() { std::abort(); }");
  BufferedJobIo output;
  JobOutcome outcome = Run(module, output);
  EXPECT_EQ(outcome.kind, JobOutcome::Kind::kSignaled);
  EXPECT_EQ(outcome.code, 6);
}

TEST_F(ProgramExecutorTest, KillsProgramsThatOutliveTheirTimeLimit) {
  auto module = Link("int main() { for (;;) {} }");
  BufferedJobIo output;
  JobOutcome outcome = Run(module, output, {.wall_time_ms = 200});
  EXPECT_EQ(outcome.kind, JobOutcome::Kind::kTimedOut);
  EXPECT_EQ(outcome.limit_ms, 200u);
}

TEST_F(ProgramExecutorTest, TimeoutAlsoEndsWhatTheProgramSpawned) {
  // A grandchild holding stdout open must not keep the job alive past its limit.
  auto module = Link(R"(
    #include <unistd.h>
    int main() { if (fork() == 0) { for (;;) sleep(1); } for (;;) sleep(1); })");
  BufferedJobIo output;
  JobOutcome outcome = Run(module, output, {.wall_time_ms = 300});
  EXPECT_EQ(outcome.kind, JobOutcome::Kind::kTimedOut);
}

TEST_F(ProgramExecutorTest, StopsProgramsAtTheOutputLimit) {
  auto module = Link("#include <cstdio>\nint main() { for (;;) std::puts(\"0123456789\"); }");
  BufferedJobIo output;
  JobOutcome outcome = Run(module, output, {.output_bytes = 1000});
  EXPECT_EQ(outcome.kind, JobOutcome::Kind::kOutputLimitExceeded);
  EXPECT_EQ(output.stdout_text().size(), 1000u);
}

TEST_F(ProgramExecutorTest, StdinIsEmptyWithoutAnInputSource) {
  auto module = Link(R"(
    #include <iostream>
    #include <string>
    int main() { std::string s; return std::getline(std::cin, s) ? 1 : 0; })");
  BufferedJobIo output;
  EXPECT_EQ(Run(module, output).code, 0);
}

// A module's template prepares jobs ahead as background work (SCHED_BATCH); the program itself
// runs with the policy a program started by a shell has, on every run.
TEST_F(ProgramExecutorTest, EveryRunHasTheNormalSchedulingPolicy) {
  auto module = Link(R"(
    #include <sched.h>
    #include <cstdio>
    int main() { std::printf("%d\n", sched_getscheduler(0)); return 0; })");
  for (int run = 0; run < 4; ++run) {
    BufferedJobIo output;
    JobOutcome outcome = Run(module, output);
    EXPECT_EQ(outcome.kind, JobOutcome::Kind::kExited) << "run " << run;
    EXPECT_EQ(output.stdout_text(), std::to_string(SCHED_OTHER) + "\n") << "run " << run;
  }
}

// One run prepared ahead while runs come one by one; two once a run had to wait for its
// processes, as runs back to back do (the replacement asked for as a run ends is still being
// prepared when the next launch comes).
TEST_F(ProgramExecutorTest, RunsBackToBackKeepTwoPreparedAhead) {
  auto module = Link("int main() { return 0; }");
  BufferedJobIo first;
  Run(module, first);  // the template's first launch: waiting for it counts for nothing
  EXPECT_EQ(module->ready_jobs_ahead(), ModuleTemplate::kReadyJobsAtFirst);
  for (int run = 0; run < 5; ++run) {
    BufferedJobIo output;
    EXPECT_EQ(Run(module, output).kind, JobOutcome::Kind::kExited);
  }
  EXPECT_EQ(module->ready_jobs_ahead(), ModuleTemplate::kMostReadyJobsAhead);
}

TEST_F(ProgramExecutorTest, ModuleWithoutMainIsARequestError) {
  auto module = Link("int helper() { return 1; }");
  BufferedJobIo output;
  JobOutcome outcome = Run(module, output);
  EXPECT_EQ(outcome.kind, JobOutcome::Kind::kFailed);
  EXPECT_THAT(outcome.message, HasSubstr("no main()"));
}

}  // namespace
}  // namespace rexec
