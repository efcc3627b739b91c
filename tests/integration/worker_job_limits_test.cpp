// The worker's job limits are maxima that a client cannot raise, and how many jobs run at once
// is bounded per connection and per worker, with connections taking turns and the wait counted
// against a job's time limit.
#include <capnp/rpc-twoparty.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "schema/rexec.capnp.h"
#include "tests/integration/loopback.h"
#include "tests/integration/read_file.h"
#include "tests/integration/send_command.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/support/compile_source.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

capnp::Data::Reader AsData(std::string_view bytes) {
  return {reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()};
}

TEST(WorkerJobLimitsTest, AClientCannotRaiseMemoryPastTheWorkersLimit) {
  WorkerProcess worker({"--memory", "64M"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult result =
      RunSend({"--worker", worker.address(), "--memory", "4G", ProgramPath("allocate.cpp")});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_EQ(result.stdout_text, "allocation of 256 MiB failed\n") << result;
}

TEST(WorkerJobLimitsTest, AClientCannotRaiseOutputPastTheWorkersLimit) {
  WorkerProcess worker({"--max-output", "1M"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessOptions options;
  options.stdout_file = "/dev/null";
  ProcessResult result = RunSend(
      {"--worker", worker.address(), "--max-output", "1G", ProgramPath("output_flood.cpp")},
      options);
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("exceeded its output limit (1048576 bytes)")) << result;
}

// One connection that sends many jobs at once: a Cap'n Proto client of its own, with every run
// pipelined at once.
class PipeliningClient {
 public:
  explicit PipeliningClient(const WorkerProcess& worker)
      : io_(kj::setupAsyncIo()),
        stream_(io_.lowLevelProvider->wrapSocketFd(ConnectLoopback(worker.port()),
                                                   kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP)),
        client_(*stream_) {
    auto login = client_.bootstrap().castAs<wire::Gateway>().loginRequest();
    worker_ = login.send().getWorker();
  }

  void Upload(const Module& module) {
    auto upload = worker_.uploadRequest();
    upload.setHash(AsData(module.hash.bytes()));
    upload.setBitcode(AsData(module.bitcode));
    upload.send().wait(io_.waitScope);
  }

  // Runs `count` programs of `module` with `args`, all at once; returns how long until the last
  // one answered, and each one's outcome.
  Clock::duration RunAtOnce(const Module& module, int count, const std::vector<std::string>& args,
                            std::vector<wire::JobResult::Outcome::Which>* outcomes) {
    const auto start = Clock::now();
    kj::Vector<kj::Promise<wire::JobResult::Outcome::Which>> runs;
    for (int i = 0; i < count; ++i) {
      auto run = worker_.runRequest();
      run.getJob().setModule(AsData(module.hash.bytes()));
      auto program = run.getJob().getEntry().initProgram();
      auto list = program.initArgs(args.size());
      for (size_t a = 0; a < args.size(); ++a) list.set(a, args[a]);
      runs.add(run.send().then(
          [](auto response) { return response.getResult().getOutcome().which(); }));
    }
    auto all = kj::joinPromises(runs.releaseAsArray()).wait(io_.waitScope);
    outcomes->assign(all.begin(), all.end());
    return Clock::now() - start;
  }

 private:
  kj::AsyncIoContext io_;
  kj::Own<kj::AsyncIoStream> stream_;
  capnp::TwoPartyClient client_;
  wire::Worker::Client worker_ = nullptr;
};

TEST(WorkerJobLimitsTest, OneConnectionRunsAtMostItsLimitOfJobsAtOnce) {
  WorkerProcess worker({"--max-jobs-per-connection", "2"});
  ASSERT_TRUE(worker.started()) << worker.log();
  Module sleeper = CompileSource(ReadFile(ProgramPath("sleep_then_exit.cpp")));
  PipeliningClient client(worker);
  client.Upload(sleeper);
  std::vector<wire::JobResult::Outcome::Which> outcomes;
  // Six one-second jobs, two at a time: three rounds.
  Clock::duration took = client.RunAtOnce(sleeper, 6, {"1"}, &outcomes);
  for (auto outcome : outcomes) EXPECT_EQ(outcome, wire::JobResult::Outcome::EXITED);
  EXPECT_GE(took, std::chrono::milliseconds(2900)) << "more than 2 jobs of one connection ran at once";
  EXPECT_LT(took, std::chrono::milliseconds(20'000));
}

// With room for one job, a connection that queued several does not make another wait for all of
// them: connections take turns.
TEST(WorkerJobLimitsTest, ConnectionsTakeTurnsWhenJobsMustWait) {
  WorkerProcess worker({"--max-jobs", "1"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectHelloRunsOn(worker);  // hello.cpp compiled and known to the worker
  Module sleeper = CompileSource(ReadFile(ProgramPath("sleep_then_exit.cpp")));
  PipeliningClient greedy(worker);
  greedy.Upload(sleeper);
  std::vector<wire::JobResult::Outcome::Which> outcomes;
  Clock::duration other_took{};
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = Clock::now();
    ProcessResult hello = RunSend({"--worker", worker.address(), ProgramPath("hello.cpp")});
    other_took = Clock::now() - start;
    EXPECT_EQ(hello.exit_code, 0) << hello;
  });
  // Five one-second jobs: served in arrival order, the other client's would come after all five.
  greedy.RunAtOnce(sleeper, 5, {"1"}, &outcomes);
  other.join();
  EXPECT_LT(other_took, std::chrono::milliseconds(3500))
      << "a job waited behind every queued job of another connection";
}

TEST(WorkerJobLimitsTest, AJobWhoseTimeLimitPassesWhileWaitingTimesOutAndSaysItWaited) {
  WorkerProcess worker({"--max-jobs", "1"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectHelloRunsOn(worker);
  Subprocess busy(
      SendCommand({"--worker", worker.address(), ProgramPath("sleep_then_exit.cpp"), "--", "3"}),
      SendOptions());
  ASSERT_TRUE(busy.WaitForOutput(Stream::kStdout, "started", milliseconds(30'000))) << worker.log();
  ProcessResult waited =
      RunSend({"--worker", worker.address(), "--timeout", "1", ProgramPath("hello.cpp")});
  EXPECT_EQ(waited.exit_code, 124) << waited;
  EXPECT_THAT(waited.stderr_text, HasSubstr("waited 1.0 s for a slot")) << waited;
  EXPECT_THAT(waited.stderr_text, HasSubstr("time limit")) << waited;
  EXPECT_LT(waited.elapsed, milliseconds(2500)) << waited;
  EXPECT_EQ(busy.Wait(milliseconds(30'000)).exit_code, 0);
}

}  // namespace
}  // namespace rexec::testing
