// The pool and its executors, with command entries written by hand against the C ABI of
// rexec/command.h (the state codec has tests of its own).
#include "runtime/exec/command_pool.h"

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/link_source.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;

// Commands that echo, count, print (a little or a lot), throw, crash, exit, hang and pause, each
// taking its state as text; the module's initializer prints too.
constexpr char kCommands[] = R"(
  #include <rexec/command.h>
  #include <cstdio>
  #include <cstdlib>
  #include <string>
  #include <unistd.h>
  struct Loud { Loud() { std::puts("initializer output"); } } loud;
  static int calls = 0;
  static std::string Text(const rexec_command_call* call) {
    return std::string(reinterpret_cast<const char*>(call->state_in), call->state_in_size);
  }
  static void Reply(const rexec_command_call* call, const std::string& text) {
    call->state_out(call->context, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  extern "C" int echo(const rexec_command_call* call) __asm__("rexec.command.Echo");
  extern "C" int echo(const rexec_command_call* call) {
    std::printf("out:%s\n", Text(call).c_str());
    std::fprintf(stderr, "err\n");
    Reply(call, Text(call) + "!");
    return 7;
  }
  extern "C" int count(const rexec_command_call* call) __asm__("rexec.command.Count");
  extern "C" int count(const rexec_command_call* call) { Reply(call, std::to_string(++calls)); return 0; }
  extern "C" int bad(const rexec_command_call* call) __asm__("rexec.command.Bad");
  extern "C" int bad(const rexec_command_call* call) {
    call->failure(call->context, REXEC_FAILURE_EXCEPTION, "std::runtime_error", "boom");
    return 0;
  }
  extern "C" int crash(const rexec_command_call*) __asm__("rexec.command.Crash");
  extern "C" int crash(const rexec_command_call*) { std::abort(); }
  extern "C" int quit(const rexec_command_call*) __asm__("rexec.command.Quit");
  extern "C" int quit(const rexec_command_call*) { std::puts("leaving"); std::exit(3); }
  extern "C" int slow(const rexec_command_call*) __asm__("rexec.command.Slow");
  extern "C" int slow(const rexec_command_call*) {
    std::puts("first");
    usleep(500 * 1000);
    std::puts("second");
    return 0;
  }
  extern "C" int hang(const rexec_command_call*) __asm__("rexec.command.Hang");
  extern "C" int hang(const rexec_command_call*) { for (;;) {} }
  extern "C" int big(const rexec_command_call* call) __asm__("rexec.command.Big");
  extern "C" int big(const rexec_command_call* call) {
    const std::string text(std::stoul(Text(call)), 'x');
    std::fputs(text.c_str(), stdout);
    Reply(call, text);
    return 0;
  }
  extern "C" int spam(const rexec_command_call*) __asm__("rexec.command.Spam");
  extern "C" int spam(const rexec_command_call*) { for (;;) std::puts("0123456789"); }
)";

class CommandPoolTest : public ::testing::Test {
 protected:
  CommandPoolTest()
      : io_(std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo())),
        context_{*io_->lowLevelProvider, io_->unixEventPort, io_->provider->getTimer()} {}

  void SetUp() override {
    module_ = testing::LinkSource(kCommands);
    ASSERT_NE(module_, nullptr);
    pool_ = std::make_unique<CommandPool>(context_, module_, 2, 1 << 20);
  }

  void TearDown() override {
    pool_ = nullptr;
    module_ = nullptr;
  }

  JobOutcome Run(const std::string& name, const std::string& state, JobIo& io,
                 JobLimits limits = {}) {
    return pool_->Run(name, state, limits, io).wait(io_->waitScope);
  }

  std::unique_ptr<kj::AsyncIoContext> io_;
  ExecutionContext context_;
  std::shared_ptr<const ModuleTemplate> module_;
  std::unique_ptr<CommandPool> pool_;
};

TEST_F(CommandPoolTest, RunsACommandAndReturnsStateCodeAndOutput) {
  BufferedJobIo io;
  JobOutcome outcome = Run("Echo", "hi", io);
  EXPECT_EQ(outcome.kind, JobOutcome::Kind::kExited);
  EXPECT_EQ(outcome.code, 7);
  EXPECT_EQ(outcome.state, "hi!");
  EXPECT_EQ(io.stdout_text(), "out:hi\n");
  EXPECT_EQ(io.stderr_text(), "err\n");
}

TEST_F(CommandPoolTest, OutputBelongsToExactlyOneJob) {
  for (const char* state : {"a", "b", "c"}) {
    BufferedJobIo io;
    Run("Echo", state, io);
    EXPECT_EQ(io.stdout_text(), std::string("out:") + state + "\n");
  }
}

// Takes output slowly, as a client on a slow link does: the pump cannot read while a write is
// pending, so a job's last output is still in its pipe when the executor answers.
class SlowJobIo final : public JobIo {
 public:
  explicit SlowJobIo(kj::Timer& timer) : timer_(timer) {}
  kj::Promise<void> Write(OutputKind kind, kj::Array<kj::byte> data) override {
    return buffered_.Write(kind, kj::mv(data)).then([this] {
      return timer_.afterDelay(20 * kj::MILLISECONDS);
    });
  }
  kj::Promise<kj::Array<kj::byte>> Read(size_t) override { return kj::Array<kj::byte>(); }
  std::string& stdout_text() { return buffered_.stdout_text(); }

 private:
  kj::Timer& timer_;
  BufferedJobIo buffered_;
};

// More output than a pipe holds, taken slowly, and a state larger than one read of the answer:
// each arrives whole, and the next job's output is its own.
TEST_F(CommandPoolTest, LargeOutputAndStateArriveWholeAndBelongToTheirJob) {
  for (int size : {300000, 5000, 0}) {
    SlowJobIo io(context_.timer);
    JobOutcome outcome = Run("Big", std::to_string(size), io);
    ASSERT_EQ(outcome.kind, JobOutcome::Kind::kExited) << outcome.message;
    // Sizes, not texts: a failure must not print 300 KB.
    EXPECT_EQ(outcome.state.size(), size_t(size));
    EXPECT_EQ(io.stdout_text().size(), size_t(size));
    EXPECT_EQ(outcome.state.find_first_not_of('x'), std::string::npos);
    EXPECT_EQ(io.stdout_text().find_first_not_of('x'), std::string::npos);
    BufferedJobIo next;
    Run("Echo", "after", next);
    EXPECT_EQ(next.stdout_text().substr(0, 100), "out:after\n");
  }
}

TEST_F(CommandPoolTest, ExecutorsStayWarmBetweenJobs) {
  // Two executors at most, so six sequential jobs reuse one process: its counter keeps counting.
  std::string last;
  for (int i = 0; i < 6; ++i) {
    BufferedJobIo io;
    last = Run("Count", "", io).state;
  }
  EXPECT_EQ(last, "6");
  EXPECT_EQ(pool_->live_executors(), 1u);
}

TEST_F(CommandPoolTest, ManyConcurrentJobsQueueForTheExecutors) {
  std::vector<std::unique_ptr<BufferedJobIo>> ios;
  std::vector<kj::Promise<JobOutcome>> jobs;
  for (int i = 0; i < 50; ++i) {
    ios.push_back(std::make_unique<BufferedJobIo>());
    jobs.push_back(pool_->Run("Echo", std::to_string(i), {}, *ios.back()));
  }
  for (int i = 0; i < 50; ++i) {
    JobOutcome outcome = jobs[i].wait(io_->waitScope);
    EXPECT_EQ(outcome.state, std::to_string(i) + "!");
    EXPECT_EQ(ios[i]->stdout_text(), "out:" + std::to_string(i) + "\n");
  }
  EXPECT_LE(pool_->live_executors(), 2u);
}

TEST_F(CommandPoolTest, ReportsExceptionsAndUnknownCommands) {
  BufferedJobIo io;
  JobOutcome thrown = Run("Bad", "", io);
  EXPECT_EQ(thrown.kind, JobOutcome::Kind::kException);
  EXPECT_EQ(thrown.exception_type, "std::runtime_error");
  EXPECT_EQ(thrown.message, "boom");
  JobOutcome unknown = Run("Nope", "", io);
  EXPECT_EQ(unknown.kind, JobOutcome::Kind::kFailed);
  EXPECT_THAT(unknown.message, HasSubstr("Nope"));
}

TEST_F(CommandPoolTest, CrashesExitsAndTimeoutsEndOnlyTheirExecutor) {
  BufferedJobIo io;
  JobOutcome crashed = Run("Crash", "", io);
  EXPECT_EQ(crashed.kind, JobOutcome::Kind::kSignaled);
  EXPECT_EQ(crashed.code, 6);
  BufferedJobIo quit_io;
  JobOutcome exited = Run("Quit", "", quit_io);
  EXPECT_EQ(exited.kind, JobOutcome::Kind::kExited);
  EXPECT_EQ(exited.code, 3);
  EXPECT_EQ(quit_io.stdout_text(), "leaving\n") << "a command's output survives its exit()";
  JobOutcome hung = Run("Hang", "", io, {.wall_time_ms = 200});
  EXPECT_EQ(hung.kind, JobOutcome::Kind::kTimedOut);
  JobOutcome spammed = Run("Spam", "", io, {.output_bytes = 4096});
  EXPECT_EQ(spammed.kind, JobOutcome::Kind::kOutputLimitExceeded);
  // The pool replaced them all and serves on.
  BufferedJobIo after;
  EXPECT_EQ(Run("Echo", "x", after).state, "x!");
}

// Remembers when each chunk of output arrived.
class TimedJobIo final : public JobIo {
 public:
  kj::Promise<void> Write(OutputKind, kj::Array<kj::byte> data) override {
    chunks.push_back({std::string(data.asChars().begin(), data.size()),
                      std::chrono::steady_clock::now()});
    return kj::READY_NOW;
  }
  kj::Promise<kj::Array<kj::byte>> Read(size_t) override { return kj::Array<kj::byte>(); }

  struct Chunk {
    std::string text;
    std::chrono::steady_clock::time_point arrived;
  };
  std::vector<Chunk> chunks;
};

TEST_F(CommandPoolTest, OutputStreamsWhileTheJobRuns) {
  TimedJobIo io;
  JobOutcome outcome = Run("Slow", "", io);
  auto ended = std::chrono::steady_clock::now();
  ASSERT_EQ(outcome.kind, JobOutcome::Kind::kExited);
  ASSERT_EQ(io.chunks.size(), 2u);
  EXPECT_EQ(io.chunks[0].text, "first\n");
  EXPECT_EQ(io.chunks[1].text, "second\n");
  // The job pauses 500 ms between its lines: the first arrived before that pause ended.
  EXPECT_GE(ended - io.chunks[0].arrived, std::chrono::milliseconds(300));
}

TEST_F(CommandPoolTest, InitializersOutputBelongsToNoJob) {
  BufferedJobIo first;
  BufferedJobIo second;
  Run("Echo", "a", first);
  Run("Echo", "b", second);
  EXPECT_EQ(first.stdout_text(), "out:a\n");
  EXPECT_EQ(second.stdout_text(), "out:b\n");
}

}  // namespace
}  // namespace rexec
