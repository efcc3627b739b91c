// Queue mode end to end: real rexec-worker processes consuming a real redis-server (a private one
// per test, persistence off), driven by the real rexec-send and by the C++ API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <sstream>
#include <memory>
#include <thread>

#include "rexec/client.h"
#include "tests/integration/loopback.h"
#include "tests/integration/read_file.h"
#include "tests/integration/redis_server.h"
#include "tests/integration/send_command.h"
#include "tests/integration/worker_process.h"
#include "tests/programs/commands/sample_commands.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.started()) << redis_.log(); }

  // A worker serving the test's queue; it also listens on loopback, for rexec-stats.
  std::unique_ptr<WorkerProcess> StartWorker(std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), {"--queue", redis_.url()});
    auto worker = std::make_unique<WorkerProcess>(flags);
    EXPECT_TRUE(worker->started()) << worker->log();
    return worker;
  }

  ProcessResult SendThroughQueue(std::vector<std::string> args, ProcessOptions options = {}) {
    args.insert(args.begin(), {"--queue", redis_.url()});
    return RunSend(args, std::move(options));
  }

  RedisServer redis_;
};

TEST_F(QueueTest, AProgramRunsThroughTheQueueWithArgsStdinAndExitCode) {
  auto worker = StartWorker();
  ProcessOptions input;
  input.stdin_data = "to be or not to be\n";
  ProcessResult counted =
      SendThroughQueue({"-O2", ProgramPath("../../examples/word_count.cpp"), "--", "--top", "2"},
                       input);
  EXPECT_EQ(counted.exit_code, 0) << counted << worker->log();
  EXPECT_EQ(counted.stdout_text, "2 be\n2 to\n") << counted;

  ProcessResult exited = SendThroughQueue({ProgramPath("exit_code.cpp")});
  EXPECT_EQ(exited.exit_code, 42) << exited;
  ProcessResult crashed = SendThroughQueue({ProgramPath("segfault.c")});
  EXPECT_EQ(crashed.exit_code, 128 + 11) << crashed;
  EXPECT_THAT(crashed.stderr_text, HasSubstr("killed by signal 11 (SIGSEGV)"));
  ProcessResult timed_out = SendThroughQueue({"--timeout", "1", ProgramPath("endless_loop.cpp")});
  EXPECT_EQ(timed_out.exit_code, 124) << timed_out;
}

TEST_F(QueueTest, OutputStreamsWhileTheProgramRuns) {
  auto worker = StartWorker();
  Subprocess send(SendCommand({"--queue", redis_.url(), ProgramPath("streaming.cpp")}),
                  SendOptions());
  // The program sleeps 2 s between its lines: the first ones arrive before it ends.
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "stdout cout before sleep\n",
                                 milliseconds(60'000)))
      << send.output(Stream::kStdout) << send.output(Stream::kStderr) << worker->log();
  EXPECT_FALSE(send.Exited()) << "the first lines came only at the end";
  ProcessResult done = send.Wait(milliseconds(30'000));
  EXPECT_EQ(done.exit_code, 0) << done;
  EXPECT_THAT(done.stdout_text, HasSubstr("stdout after sleep\n"));
  EXPECT_THAT(done.stderr_text, HasSubstr("stderr after sleep\n"));
}

TEST_F(QueueTest, ACommandsOutputStreamsWhileItRuns) {
  auto worker = StartWorker();
  Subprocess send(SendCommand({"--queue", redis_.url(),
                               ProgramPath("commands/streaming_command.cpp")}),
                  SendOptions());
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "before the pause\n", milliseconds(60'000)))
      << send.output(Stream::kStdout) << send.output(Stream::kStderr) << worker->log();
  const auto first_line_at = std::chrono::steady_clock::now();
  EXPECT_FALSE(send.Exited()) << "the first line came only at the end";
  ProcessResult done = send.Wait(milliseconds(30'000));
  // Not merely before the client exited: before the pause ended.
  EXPECT_GE(std::chrono::steady_clock::now() - first_line_at, milliseconds(1'000))
      << "the first line came only at the end";
  EXPECT_EQ(done.exit_code, 0) << done;
  EXPECT_EQ(done.stdout_text, "before the pause\nafter the pause\n") << done;
}

TEST_F(QueueTest, ACommandsStateGoesInAndComesBack) {
  auto worker = StartWorker();
  ProcessResult result = SendThroughQueue(
      {ProgramPath("commands/sample_commands.cpp"), "--command", "Square", "--set", "value=12",
       "--print-state"});
  EXPECT_EQ(result.exit_code, 0) << result << worker->log();
  EXPECT_THAT(result.stdout_text, HasSubstr("\"value\": 144"));
}

TEST_F(QueueTest, QueuesWithOtherNamesNeverSeeEachOthersJobs) {
  auto worker = StartWorker({"--queue-name", "other"});
  ProcessResult result =
      SendThroughQueue({"--queue-wait", "1", ProgramPath("hello.cpp")});
  EXPECT_EQ(result.exit_code, 255) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("no worker took the job within 1 s"));
  EXPECT_EQ(worker->Stats()["queue_jobs"], "0");
}

TEST_F(QueueTest, UnreachableRedisIsAClearError) {
  redis_.Kill();
  ProcessResult result = SendThroughQueue({ProgramPath("hello.cpp")});
  EXPECT_EQ(result.exit_code, 255) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("cannot reach queue at redis://127.0.0.1:"));
}

TEST_F(QueueTest, GarbageInTheStreamIsSkippedAndTheWorkerServesOn) {
  auto worker = StartWorker();
  redis_.Cli({"XADD", "rexec:rexec:jobs", "*", "foo", "bar"});
  redis_.Cli({"XADD", "rexec:rexec:jobs", "*", "d", "not a capnp message"});
  redis_.Cli({"XADD", "rexec:rexec:jobs", "*", "d", "12345678"});
  ProcessResult hello = SendThroughQueue({ProgramPath("hello.cpp")});
  EXPECT_EQ(hello.exit_code, 0) << hello << worker->log();
  EXPECT_EQ(hello.stdout_text, "hello from rexec\n");
  EXPECT_EQ(worker->Stats()["queue_garbage"], "3") << worker->log();
  EXPECT_THAT(worker->log(), HasSubstr("skipping a queue entry that is not a rexec job"));
}

// A job the worker refuses is answered at once with why, as a direct worker answers it; it used
// to stay pending, be delivered again after each visibility timeout and end up dead-lettered.
TEST_F(QueueTest, AJobTheWorkerRefusesIsAnsweredWithWhy) {
  auto worker = StartWorker();
  std::vector<std::string> args = {ProgramPath("hello.cpp"), "--"};
  for (int i = 0; i < 5000; ++i) args.push_back("x");
  ProcessOptions options;
  options.timeout = milliseconds(20'000);  // well within one visibility timeout (30 s)
  ProcessResult refused = SendThroughQueue(args, options);
  EXPECT_EQ(refused.exit_code, 125) << refused << worker->log();
  EXPECT_THAT(refused.stderr_text, HasSubstr("too many arguments")) << refused;
  EXPECT_THAT(worker->log(), Not(HasSubstr("dead-lettering"))) << worker->log();

  ProcessResult hello = SendThroughQueue({ProgramPath("hello.cpp")});
  EXPECT_EQ(hello.exit_code, 0) << hello << worker->log();
}

TEST_F(QueueTest, AJobOfAKilledWorkerIsTakenOverByAnother) {
  auto first = StartWorker({"--visibility-timeout", "1"});
  Subprocess send(SendCommand({"--queue", redis_.url(), ProgramPath("sleep_then_exit.cpp"),
                               "--", "3"}),
                  SendOptions());
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "started\n", milliseconds(60'000)))
      << send.output(Stream::kStderr) << first->log();
  first->Kill();
  auto second = StartWorker({"--visibility-timeout", "1"});
  ProcessResult done = send.Wait(milliseconds(60'000));
  EXPECT_EQ(done.exit_code, 0) << done << second->log();
  EXPECT_THAT(done.stdout_text, HasSubstr("done\n"));
  EXPECT_THAT(done.stderr_text, HasSubstr("another worker restarted it"));
  EXPECT_EQ(second->Stats()["queue_reclaimed"], "1") << second->log();
}

TEST_F(QueueTest, ALiveWorkersLongJobIsNeverTakenOver) {
  auto first = StartWorker({"--visibility-timeout", "1"});
  auto second = StartWorker({"--visibility-timeout", "1"});
  // Three visibility timeouts long: without heartbeats the other worker would take it over.
  ProcessResult done = SendThroughQueue({ProgramPath("sleep_then_exit.cpp"), "--", "3"});
  EXPECT_EQ(done.exit_code, 0) << done;
  EXPECT_EQ(done.stdout_text, "started\ndone\n") << done;
  EXPECT_EQ(first->Stats()["queue_reclaimed"], "0");
  EXPECT_EQ(second->Stats()["queue_reclaimed"], "0");
}

TEST_F(QueueTest, APoisonJobIsDeadLetteredAndItsCallerTold) {
  std::vector<std::string> flags = {"--visibility-timeout", "1", "--max-deliveries", "2"};
  Subprocess send(SendCommand({"--queue", redis_.url(), ProgramPath("sleep_then_exit.cpp"),
                               "--", "30"}),
                  SendOptions());
  // Two workers die under it in turn, as if it killed them.
  for (const char* output_so_far : {"started\n", "started\nstarted\n"}) {
    auto worker = StartWorker(flags);
    ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, output_so_far, milliseconds(60'000)))
        << send.output(Stream::kStdout) << send.output(Stream::kStderr) << worker->log();
    worker->Kill();
  }
  auto survivor = StartWorker(flags);
  ProcessResult result = send.Wait(milliseconds(60'000));
  EXPECT_EQ(result.exit_code, 125) << result << survivor->log();
  EXPECT_THAT(result.stderr_text, HasSubstr("the queue gave up on this job"));
  EXPECT_EQ(redis_.Cli({"XLEN", "rexec:rexec:dead"}), "1\n");
  EXPECT_EQ(survivor->Stats()["queue_dead_lettered"], "1");
}

TEST_F(QueueTest, WorkersAndClientsComeBackAfterRedisRestarts) {
  auto worker = StartWorker();
  ProcessResult before = SendThroughQueue({ProgramPath("hello.cpp")});
  ASSERT_EQ(before.exit_code, 0) << before;

  // A job in flight when Redis restarts empty is lost: its caller hears so, promptly.
  Subprocess send(SendCommand({"--queue", redis_.url(), ProgramPath("sleep_then_exit.cpp"),
                               "--", "5"}),
                  SendOptions());
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "started\n", milliseconds(60'000)));
  ASSERT_TRUE(redis_.Restart()) << redis_.log();
  ProcessResult lost = send.Wait(milliseconds(30'000));
  EXPECT_EQ(lost.exit_code, 255) << lost;
  EXPECT_THAT(lost.stderr_text, HasSubstr("Redis lost the queue's contents"));

  ProcessResult after = SendThroughQueue({ProgramPath("hello.cpp")});
  EXPECT_EQ(after.exit_code, 0) << after << worker->log();
  EXPECT_EQ(after.stdout_text, "hello from rexec\n");
  EXPECT_THAT(worker->log(), HasSubstr("lost Redis"));
}

TEST_F(QueueTest, AJobWhoseCallerGaveUpIsNotRun) {
  // No worker yet: the caller waits one second, then gives up.
  ProcessResult gave_up = SendThroughQueue({"--queue-wait", "1", ProgramPath("hello.cpp")});
  ASSERT_EQ(gave_up.exit_code, 255) << gave_up;
  auto worker = StartWorker();
  ProcessResult hello = SendThroughQueue({ProgramPath("exit_code.cpp")});
  EXPECT_EQ(hello.exit_code, 42) << hello;
  std::map<std::string, std::string> stats = worker->Stats();
  EXPECT_EQ(stats["queue_expired"], "1") << worker->log();
  EXPECT_EQ(stats["jobs_run"], "1");
}

TEST_F(QueueTest, AThousandJobsSurviveAKilledWorkerEachAnsweredOnce) {
  ClientOptions options;
  options.bitcode_cache_dir = "-";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::ConnectQueue(redis_.url(), options);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<Module> module =
      (*client)->Compile({ProgramPath("commands/sample_commands.cpp")}, {"-O2"});
  ASSERT_TRUE(module.ok()) << module.status();
  auto doomed = StartWorker({"--visibility-timeout", "1"});
  auto survivor = StartWorker({"--visibility-timeout", "1"});

  constexpr int kJobs = 1000;
  std::vector<std::future<absl::StatusOr<Result<Square>>>> results;
  for (int i = 0; i < kJobs; ++i) results.push_back((*client)->Submit(*module, Square{i}));
  // Kill one worker while jobs are still in flight.
  ASSERT_EQ(results[kJobs / 10].wait_for(std::chrono::seconds(120)), std::future_status::ready);
  doomed->Kill();
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_EQ(results[i].wait_for(std::chrono::seconds(120)), std::future_status::ready) << i;
    absl::StatusOr<Result<Square>> result = results[i].get();
    ASSERT_TRUE(result.ok()) << i << ": " << result.status();
    EXPECT_EQ(result->state.value, static_cast<long long>(i) * i) << i;
  }
  // Each job was answered exactly once in Redis, whoever ran it.
  EXPECT_EQ(redis_.Cli({"HGET", "rexec:rexec:stats", "completed"}), std::to_string(kJobs) + "\n");
  EXPECT_EQ(redis_.Cli({"XLEN", "rexec:rexec:jobs"}), "0\n");
  // And the workers' own counts of what they answered add up to the same.
  std::istringstream fields(redis_.Cli({"HGETALL", "rexec:rexec:stats"}));
  std::map<std::string, long> answered_by;
  for (std::string name, value; std::getline(fields, name) && std::getline(fields, value);) {
    if (name.starts_with("completed:")) answered_by[name] = std::stol(value);
  }
  long answered = 0;
  for (const auto& [worker, count] : answered_by) answered += count;
  EXPECT_EQ(answered, kJobs);
  EXPECT_GE(std::stol(survivor->Stats()["queue_jobs"]),
            answered_by["completed:" + survivor->consumer()]);
}

TEST_F(QueueTest, ADeadWorkersNameLeavesTheGroupOnceItHoldsNoJob) {
  // Forgotten after 10 visibility timeouts: 2 s here.
  auto worker = StartWorker({"--visibility-timeout", "0.2"});
  ASSERT_EQ(SendThroughQueue({ProgramPath("hello.cpp")}).exit_code, 0) << worker->log();
  // A consumer that read once and died, as a killed worker leaves behind.
  ASSERT_EQ(redis_.Cli({"XGROUP", "CREATECONSUMER", "rexec:rexec:jobs", "workers", "ghost"}),
            "1\n");
  std::string consumers;
  for (int attempt = 0; attempt < 100; ++attempt) {
    consumers = redis_.Cli({"XINFO", "CONSUMERS", "rexec:rexec:jobs", "workers"});
    if (consumers.find("ghost") == std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_THAT(consumers, Not(HasSubstr("ghost")));
  // The live worker keeps its name, and serves on.
  EXPECT_THAT(consumers, HasSubstr(worker->consumer()));
  EXPECT_EQ(SendThroughQueue({ProgramPath("hello.cpp")}).exit_code, 0);
}

TEST_F(QueueTest, StatsAndMetricsCoverTheWholeQueue) {
  auto first = StartWorker({"--metrics", "127.0.0.1:0"});
  auto second = StartWorker();
  for (int i = 0; i < 4; ++i) {
    ProcessResult result = SendThroughQueue({ProgramPath("hello.cpp")});
    ASSERT_EQ(result.exit_code, 0) << result << first->log();
  }
  // rexec-stats --queue sums every live worker's counters, as they last reported them (each
  // second).
  ProcessResult fleet;
  for (int attempt = 0; attempt < 50; ++attempt) {
    fleet = RunProcess({StatsBinary(), "--queue", redis_.url()});
    ASSERT_EQ(fleet.exit_code, 0) << fleet;
    if (fleet.stdout_text.find("queue_jobs: 4\n") != std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_THAT(fleet.stdout_text, HasSubstr("workers: 2\n"));
  EXPECT_THAT(fleet.stdout_text, HasSubstr("queue_jobs: 4\n"));
  EXPECT_THAT(fleet.stdout_text, HasSubstr("jobs_run: 4\n"));

  std::string page = HttpGet(first->metrics_port(), "/metrics");
  EXPECT_THAT(page, HasSubstr("# TYPE rexec_queue_jobs_total counter\n"));
  EXPECT_THAT(page, HasSubstr("\nrexec_queue_lag "));
  EXPECT_THAT(page, HasSubstr("\nrexec_queue_pending "));
}

TEST_F(QueueTest, InputFilesTravelThroughRedisOnceAndOutputsComeBack) {
  auto worker = StartWorker();
  TempDir dir;
  for (int i = 0; i < 50; ++i) {
    dir.Write("data/f" + std::to_string(i) + ".txt", std::to_string(i) + "\n");
  }
  std::string big;
  for (int i = 0; i < 1'500'000; ++i) big += "1\n";  // 3 MB: fetched in several chunks
  dir.Write("data/big.txt", big);
  std::filesystem::copy(ProgramPath("files/sim/sim.cpp"), dir.path() / "sim.cpp");
  ProcessOptions options;
  options.working_dir = dir.path();
  for (int run = 1; run <= 2; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    std::filesystem::remove_all(dir.path() / "out");
    ProcessResult result = SendThroughQueue({"sim.cpp", "--input", "data", "--output", "out/result.csv",
                                 "--", "data", "--scale", "2"},
                                options);
    EXPECT_EQ(result.exit_code, 0) << result << worker->log();
    EXPECT_EQ(result.stdout_text, "files 51 numbers 1500050 total 3002450\n") << result;
    EXPECT_THAT(ReadFile(dir.path() / "out/result.csv"), HasSubstr("f49.txt,1,98\n"));
  }
  // Stored once, by content hash; nothing left half-uploaded.
  EXPECT_EQ(redis_.Cli({"EVAL", "return #redis.call('KEYS', 'rexec:rexec:file:*')", "0"}),
            "51\n");
  EXPECT_EQ(redis_.Cli({"EVAL", "return #redis.call('KEYS', 'rexec:rexec:upload:*')", "0"}),
            "0\n");
}

TEST_F(QueueTest, ACommandTakesFilesThroughTheQueueToo) {
  auto worker = StartWorker();
  TempDir dir;
  dir.Write("data.txt", "one\ntwo\n");
  ProcessOptions options;
  options.working_dir = dir.path();
  ProcessResult result =
      SendThroughQueue({ProgramPath("files/count_lines/count_lines.cpp"), "--input", "data.txt",
                        "--output", "report", "--print-state"},
                       options);
  EXPECT_EQ(result.exit_code, 0) << result << worker->log();
  EXPECT_THAT(result.stdout_text, HasSubstr("\"lines\": 2")) << result;
  EXPECT_EQ(ReadFile(dir.path() / "report/count.txt"), "data.txt: 2 lines\n");
}

}  // namespace
}  // namespace rexec::testing
