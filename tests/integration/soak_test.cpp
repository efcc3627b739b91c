// The soak test (issue 12): eight clients send 10,000 mixed jobs to one real rexec-worker, sandbox
// on, over loopback: commands whose state comes back, programs, exit(N) from both, crashes
// (SIGSEGV, SIGABRT) in both, timeouts in both, programs that leave a daemon holding their
// stdout, and clients that go away with a job in flight.
// Every job that was not cancelled must come back exactly as predicted, and afterwards the
// worker's resident memory, open descriptors and process tree must be back where they were.
//
// The starting level is taken after a warm-up round of the same mix (both modules compiled and
// linked, their templates running, the command pool full), and the final one after the same
// pool refill, so that the two are comparable. Its own ctest label, `soak`: `ctest -L soak`.
// REXEC_SOAK_JOBS=N changes the number of jobs (CI runs the default, 10,000).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rexec/client.h"
#include "tests/integration/process_footprint.h"
#include "tests/integration/process_tree.h"
#include "tests/integration/send_command.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/programs/soak/soak_commands.h"

namespace rexec::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Outcome = JobReport::Outcome;

constexpr int kClients = 8;
constexpr int kDefaultJobs = 10'000;
constexpr int kWarmUpJobs = 400;
// Clients 5, 6 and 7 go away mid-job now and then, and connect again. A Client cannot go away
// in the middle of its own synchronous RunProgram, so for programs the client that goes away is
// a rexec-send, killed while its program runs (a few of these: each is a process start).
constexpr int kFirstLeavingClient = 5;
// A timed-out job sleeps far past its limit; each costs its client the limit, so they are few.
constexpr uint32_t kShortLimitMs = 150;
// Every other job is bounded by the worker too (--timeout), so a job that never ends shows up
// as a wrong result rather than as a hung test.
constexpr int kWorkerTimeoutSeconds = 60;
// No job at all finishing for this long means the worker stopped answering.
constexpr seconds kStall(90);
// Resident memory may settle a little above the starting level: glibc keeps freed heap for
// reuse rather than returning it, and a long run may reach a higher peak of buffers in flight
// than the warm-up did. A leak of 2 KB per job shows above this. (Measured: back to within
// 0.1 MB of the starting level, after 10,000 jobs and after 60,000.)
constexpr uint64_t kResidentSlackBytes = 16 << 20;

enum class Kind {
  kTally,             // command: state in, state out, its exit code and output
  kLeave,             // command: exit(N) before main() returns
  kCrashCommand,      // command: SIGSEGV or SIGABRT ends its executor
  kNapTimeout,        // command: sleeps past its limit
  kEcho,              // program: stdout, stderr, exit 0
  kExit,              // program: exit(N) from below main()
  kDaemon,            // program: exits N, leaving a daemon that holds its stdout open
  kCrashProgram,      // program: SIGSEGV or SIGABRT
  kSleepTimeout,      // program: sleeps past its limit
  kCancelled,         // command in flight when its client goes away
  kCancelledProgram,  // program running when its client (a rexec-send) is killed
};
constexpr int kKinds = static_cast<int>(Kind::kCancelledProgram) + 1;

const char* KindName(Kind kind) {
  static const char* const names[kKinds] = {
      "command",         "command exit(N)",   "command crash",    "command timeout",
      "program",         "program exit(N)",   "program daemon",   "program crash",
      "program timeout", "cancelled command", "cancelled program"};
  return names[static_cast<int>(kind)];
}

// A job's parameters follow from its number alone, so any failure can be replayed.
uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

Kind KindOf(int job, bool leaving_client) {
  const int per_mille = static_cast<int>(Mix(job) % 1000);
  if (per_mille < 440) return Kind::kTally;
  if (per_mille < 670) return Kind::kEcho;
  if (per_mille < 740) return Kind::kExit;
  if (per_mille < 770) return Kind::kDaemon;
  if (per_mille < 840) return Kind::kLeave;
  if (per_mille < 890) return Kind::kCrashProgram;
  if (per_mille < 930) return Kind::kCrashCommand;
  if (per_mille < 935) return Kind::kSleepTimeout;
  if (per_mille < 940) return Kind::kNapTimeout;
  if (!leaving_client) return Kind::kTally;
  return per_mille < 970 ? Kind::kCancelled : Kind::kCancelledProgram;
}

// The modules every client runs, compiled once.
struct SoakModules {
  Module program;   // tests/programs/soak/soak_program.cpp
  Module commands;  // tests/programs/soak/soak_commands.cpp
};

// What one client thread did, and what it is doing now (read by the stall watch).
struct ClientRecord {
  std::atomic<int> current_job{-1};
  std::atomic<int> current_kind{-1};
  std::atomic<int> finished_jobs{0};
  std::atomic<bool> finished{false};
  int done[kKinds] = {};  // read once the thread has ended
  std::vector<std::string> failures;
};

// Captures a program's stdout or stderr: a memory file the client writes as output arrives.
class CapturedStream {
 public:
  CapturedStream() : fd_(memfd_create("soak-output", MFD_CLOEXEC)) {}
  ~CapturedStream() {
    if (fd_ >= 0) close(fd_);
  }
  CapturedStream(const CapturedStream&) = delete;
  CapturedStream& operator=(const CapturedStream&) = delete;

  int fd() const { return fd_; }
  bool Clear() { return ftruncate(fd_, 0) == 0 && lseek(fd_, 0, SEEK_SET) == 0; }
  std::string Text() const {
    struct stat info {};
    if (fstat(fd_, &info) != 0) return "<unreadable>";
    std::string text(static_cast<size_t>(info.st_size), '\0');
    ssize_t got = pread(fd_, text.data(), text.size(), 0);
    text.resize(got < 0 ? 0 : static_cast<size_t>(got));
    return text;
  }

 private:
  int fd_;
};

absl::StatusOr<std::unique_ptr<Client>> Connect(const WorkerProcess& worker) {
  ClientOptions options;
  options.bitcode_cache_dir = "-";
  return Client::Connect(worker.address(), options);
}

std::string Describe(const JobReport& report) {
  std::ostringstream out;
  out << "outcome " << static_cast<int>(report.outcome) << " code " << report.code;
  if (!report.message.empty()) out << " (" << report.Describe() << ")";
  out << ", stdout \"" << report.stdout_text << "\", stderr \"" << report.stderr_text << "\"";
  return out.str();
}

// One client's share of the soak: jobs first_job, first_job + kClients, ... below end_job.
class SoakClient {
 public:
  SoakClient(const WorkerProcess& worker, const SoakModules& modules, int index,
             ClientRecord& record)
      : worker_(worker), modules_(modules), index_(index), record_(record) {}

  void Run(int first_job, int end_job) {
    if (Reconnect()) {
      for (int job = first_job + index_; job < end_job && !lost_; job += kClients) {
        const Kind kind = KindOf(job, index_ >= kFirstLeavingClient);
        record_.current_kind = static_cast<int>(kind);
        record_.current_job = job;
        if (std::string failure = RunJob(job, kind); !failure.empty()) {
          record_.failures.push_back("job " + std::to_string(job) + " (" + KindName(kind) +
                                     "): " + failure);
        }
        ++record_.done[static_cast<int>(kind)];
        ++record_.finished_jobs;
      }
    }
    client_.reset();
    record_.current_job = -1;
    record_.finished = true;
  }

 private:
  bool Reconnect() {
    client_.reset();
    auto client = Connect(worker_);
    if (!client.ok()) {
      record_.failures.push_back("cannot connect: " + client.status().ToString());
      lost_ = true;
      return false;
    }
    client_ = *std::move(client);
    return true;
  }

  // Empty when the job came back exactly as predicted, else what was wrong.
  std::string RunJob(int job, Kind kind) {
    const uint64_t dice = Mix(~static_cast<uint64_t>(job));
    switch (kind) {
      case Kind::kTally: {
        Tally tally{.tag = "t" + std::to_string(job), .xs = {}, .sum = 0};
        for (uint64_t i = 0; i < dice % 6; ++i) {
          tally.xs.push_back(static_cast<long long>(Mix(dice + i) % 2'000'001) - 1'000'000);
        }
        const long long sum = std::accumulate(tally.xs.begin(), tally.xs.end(), 0ll);
        auto result = client_->Run(modules_.commands, tally);
        if (!result.ok()) return Failed(result.status());
        if (!result->ok() || result->exit_code != static_cast<int>(tally.xs.size()) ||
            !result->state_returned || result->state.sum != sum || result->state.tag != tally.tag ||
            result->state.xs != tally.xs || result->stdout_text != tally.tag + "\n" ||
            !result->stderr_text.empty()) {
          return Describe(result->report) + ", sum " + std::to_string(result->state.sum) +
                 " (expected " + std::to_string(sum) + ")";
        }
        return "";
      }
      case Kind::kLeave: {
        const int code = static_cast<int>(1 + dice % 120);
        auto result = client_->Run(modules_.commands, Leave{code});
        if (!result.ok()) return Failed(result.status());
        if (!result->ok() || result->exit_code != code || result->state_returned ||
            result->stdout_text != "leaving " + std::to_string(code) + "\n") {
          return Describe(result->report) + ", expected exit " + std::to_string(code);
        }
        return "";
      }
      case Kind::kCrashCommand: {
        const bool abort = dice % 2 == 0;
        auto result = client_->Run(modules_.commands, Crash{abort});
        if (!result.ok()) return Failed(result.status());
        return ExpectSignal(result->report, abort ? SIGABRT : SIGSEGV);
      }
      case Kind::kNapTimeout: {
        auto result = client_->Run(modules_.commands, Nap{10'000}, {.wall_time_ms = kShortLimitMs});
        if (!result.ok()) return Failed(result.status());
        return ExpectTimeout(result->report);
      }
      case Kind::kEcho: {
        const std::string word = "w" + std::to_string(job);
        return RunProgram({"echo", word}, {}, Outcome::kExited, 0, word + "\n",
                          "err " + word + "\n");
      }
      case Kind::kExit: {
        const int code = static_cast<int>(dice % 121);
        return RunProgram({"exit", std::to_string(code)}, {}, Outcome::kExited, code,
                          "exit " + std::to_string(code) + "\n", "");
      }
      case Kind::kDaemon: {
        const int code = static_cast<int>(dice % 121);
        return RunProgram({"daemon", std::to_string(code)}, {}, Outcome::kExited, code,
                          "left a daemon\n", "");
      }
      case Kind::kCrashProgram: {
        const bool abort = dice % 2 == 0;
        return RunProgram({abort ? "abort" : "segv"}, {}, Outcome::kSignaled,
                          abort ? SIGABRT : SIGSEGV, "", "");
      }
      case Kind::kSleepTimeout:
        return RunProgram({"sleep", "10000"}, {.wall_time_ms = kShortLimitMs}, Outcome::kTimedOut,
                          0, "", "");
      case Kind::kCancelled: {
        // A job in flight, possibly already running, when the client goes away: the worker must
        // free its executor and slot. Its result is never seen.
        client_->Submit(modules_.commands, Nap{10'000});
        std::this_thread::sleep_for(milliseconds(dice % 40));
        return Reconnect() ? "" : "cannot connect again after going away";
      }
      case Kind::kCancelledProgram: {
        Subprocess send(
            SendCommand({"--worker", worker_.address(), "-O1", ProgramPath("soak/soak_program.cpp"),
                         "--", "sleep", "60000", "started"}),
            SendOptions());
        if (!send.WaitForOutput(Stream::kStdout, "started\n", seconds(30))) {
          return "its job never started: " + send.output(Stream::kStderr);
        }
        send.Signal(SIGKILL);
        send.Wait(seconds(10));
        return "";
      }
    }
    return "unknown kind";
  }

  std::string RunProgram(const std::vector<std::string>& args, JobLimitsRequest limits,
                         Outcome outcome, int code, const std::string& out,
                         const std::string& err) {
    if (!stdout_.Clear() || !stderr_.Clear()) return "cannot empty the output capture";
    auto report = client_->RunProgram(
        modules_.program, args,
        {.stdin_fd = -1, .stdout_fd = stdout_.fd(), .stderr_fd = stderr_.fd()}, limits);
    if (!report.ok()) return Failed(report.status());
    report->stdout_text = stdout_.Text();
    report->stderr_text = stderr_.Text();
    // A job may spend its time limit waiting for a slot, and its stderr then says so.
    const bool waited_out = outcome == Outcome::kTimedOut &&
                            report->stderr_text.rfind("rexec-worker: the job waited ", 0) == 0;
    const bool right = report->outcome == outcome &&
                       (outcome == Outcome::kTimedOut ? report->time_limit_ms == kShortLimitMs
                                                      : report->code == code) &&
                       report->stdout_text == out && (report->stderr_text == err || waited_out);
    return right ? "" : Describe(*report);
  }

  // A call that failed: a lost connection ends this client's round (the worker is gone or
  // was killed by the stall watch).
  std::string Failed(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kUnavailable) lost_ = true;
    return status.ToString();
  }

  static std::string ExpectSignal(const JobReport& report, int signal) {
    if (report.outcome == Outcome::kSignaled && report.code == signal) return "";
    return Describe(report) + ", expected signal " + std::to_string(signal);
  }
  static std::string ExpectTimeout(const JobReport& report) {
    if (report.outcome == Outcome::kTimedOut && report.time_limit_ms == kShortLimitMs) return "";
    return Describe(report) + ", expected a timeout";
  }

  const WorkerProcess& worker_;
  const SoakModules& modules_;
  const int index_;
  ClientRecord& record_;
  std::unique_ptr<Client> client_;
  CapturedStream stdout_;
  CapturedStream stderr_;
  bool lost_ = false;
};

int SoakJobs() {
  const char* jobs = std::getenv("REXEC_SOAK_JOBS");
  return jobs != nullptr && std::atoi(jobs) > 0 ? std::atoi(jobs) : kDefaultJobs;
}

// The names of the processes in `pid`'s tree, for a report.
std::string ProcessNames(pid_t pid) {
  std::ostringstream names;
  for (pid_t member : ProcessTreeOf(pid)) {
    std::string name;
    std::ifstream("/proc/" + std::to_string(member) + "/comm") >> name;
    names << " " << member << ":" << name;
  }
  return names.str();
}

class SoakTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(worker_.started()) << worker_.log();
    auto client = Connect(worker_);
    ASSERT_TRUE(client.ok()) << client.status();
    auto program = (*client)->Compile({ProgramPath("soak/soak_program.cpp")}, {"-O1"});
    ASSERT_TRUE(program.ok()) << program.status();
    auto commands = (*client)->Compile({ProgramPath("soak/soak_commands.cpp")}, {"-O1"});
    ASSERT_TRUE(commands.ok()) << commands.status();
    modules_ =
        std::make_unique<SoakModules>(SoakModules{*std::move(program), *std::move(commands)});
  }

  // Jobs [first_job, end_job) from kClients clients at once; every one that was not cancelled
  // must come back as predicted. Returns false if they stalled (the worker is then killed).
  bool RunRound(int first_job, int end_job, const std::string& round) {
    std::vector<std::unique_ptr<ClientRecord>> records;
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      records.push_back(std::make_unique<ClientRecord>());
      threads.emplace_back([this, i, first_job, end_job, record = records.back().get()] {
        SoakClient(worker_, *modules_, i, *record).Run(first_job, end_job);
      });
    }
    const bool kept_going = WatchForStalls(records, round);
    for (std::thread& thread : threads) thread.join();

    int failures = 0;
    int done[kKinds] = {};
    std::ostringstream first_failures;
    for (const auto& record : records) {
      for (int kind = 0; kind < kKinds; ++kind) done[kind] += record->done[kind];
      for (const std::string& failure : record->failures) {
        if (++failures <= 20) first_failures << "\n  " << failure;
      }
    }
    std::ostringstream mix;
    for (int kind = 0; kind < kKinds; ++kind) {
      mix << (kind == 0 ? "" : ", ") << done[kind] << " " << KindName(static_cast<Kind>(kind));
    }
    std::cout << "soak: " << round << ": " << mix.str() << std::endl;
    EXPECT_EQ(failures, 0) << failures << " of " << end_job - first_job << " jobs in the " << round
                           << " came back wrong; the first:" << first_failures.str()
                           << "\nworker log:\n"
                           << worker_.log();
    return kept_going;
  }

  // Waits for the clients to finish while jobs keep finishing. When none has for kStall,
  // records what each client waits for and kills the worker so that they return.
  bool WatchForStalls(const std::vector<std::unique_ptr<ClientRecord>>& records,
                      const std::string& round) {
    int last_finished = -1;
    Clock::time_point last_progress = Clock::now();
    for (;;) {
      int finished_jobs = 0;
      bool all_finished = true;
      for (const auto& record : records) {
        finished_jobs += record->finished_jobs;
        all_finished = all_finished && record->finished;
      }
      if (all_finished) return true;
      if (finished_jobs != last_finished) {
        last_finished = finished_jobs;
        last_progress = Clock::now();
      } else if (Clock::now() - last_progress > kStall) {
        std::ostringstream waiting;
        for (const auto& record : records) {
          const int job = record->current_job;
          if (job >= 0) {
            waiting << "\n  job " << job << " ("
                    << KindName(static_cast<Kind>(record->current_kind.load())) << ")";
          }
        }
        ADD_FAILURE() << "the " << round << " stalled: no job finished for " << kStall.count()
                      << " s after " << finished_jobs
                      << " had; the clients wait for:" << waiting.str()
                      << "\nprocesses:" << ProcessNames(worker_.pid()) << "\nworker log:\n"
                      << worker_.log();
        worker_.Kill();
        return false;
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
  }

  // Starts every executor of the command pool: more naps at once than it has executors, each
  // longer than a round trip. Executors a round retired are started again only on demand, so
  // both measurements come after this.
  void FillCommandPool() {
    auto client = Connect(worker_);
    ASSERT_TRUE(client.ok()) << client.status();
    std::vector<std::future<absl::StatusOr<Result<Nap>>>> naps;
    for (int i = 0; i < 2 * kClients; ++i) {
      naps.push_back((*client)->Submit(modules_->commands, Nap{300}));
    }
    for (auto& nap : naps) {
      auto result = nap.get();
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_TRUE(result->ok()) << Describe(result->report);
    }
  }

  // The worker's footprint once it has settled: its descriptor and process counts those of
  // `target`, or without one unchanged for a second; after `patience` at most.
  ProcessFootprint Settled(seconds patience, const ProcessFootprint* target = nullptr) {
    auto same_counts = [](const ProcessFootprint& a, const ProcessFootprint& b) {
      return a.open_descriptors == b.open_descriptors && a.processes == b.processes;
    };
    const Clock::time_point deadline = Clock::now() + patience;
    ProcessFootprint last = FootprintOf(worker_.pid());
    int unchanged = 0;
    while (Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(250));
      const ProcessFootprint now = FootprintOf(worker_.pid());
      unchanged = same_counts(now, last) ? unchanged + 1 : 0;
      last = now;
      if (target != nullptr ? same_counts(now, *target) : unchanged >= 4) break;
    }
    return last;
  }

  WorkerProcess worker_{{"--timeout", std::to_string(kWorkerTimeoutSeconds)}};
  std::unique_ptr<SoakModules> modules_;
};

TEST_F(SoakTest, EightClientsMixedJobsAllRightAndTheWorkerReturnsToItsStartingLevel) {
  ASSERT_TRUE(RunRound(0, kWarmUpJobs, "warm-up"));
  FillCommandPool();
  const ProcessFootprint before = Settled(seconds(10));
  ASSERT_GT(before.resident_bytes, 0u);
  std::cout << "soak: before: " << before << " (" << ProcessNames(worker_.pid()) << ")"
            << std::endl;

  const int jobs = SoakJobs();
  const Clock::time_point started = Clock::now();
  ASSERT_TRUE(RunRound(kWarmUpJobs, kWarmUpJobs + jobs, "soak"));
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "soak: " << jobs << " jobs from " << kClients << " clients in " << elapsed << " s ("
            << static_cast<int>(jobs / elapsed) << " jobs/s)" << std::endl;

  FillCommandPool();
  const ProcessFootprint after = Settled(seconds(20), &before);
  std::cout << "soak: after: " << after << " (" << ProcessNames(worker_.pid()) << ")" << std::endl;
  RecordProperty("jobs", jobs);
  RecordProperty("seconds", static_cast<int>(elapsed));
  RecordProperty("rss_kb_before", static_cast<int>(before.resident_bytes >> 10));
  RecordProperty("rss_kb_after", static_cast<int>(after.resident_bytes >> 10));
  RecordProperty("fds_before", before.open_descriptors);
  RecordProperty("fds_after", after.open_descriptors);
  RecordProperty("processes_before", before.processes);
  RecordProperty("processes_after", after.processes);

  EXPECT_EQ(after.open_descriptors, before.open_descriptors);
  EXPECT_EQ(after.processes, before.processes) << ProcessNames(worker_.pid());
  EXPECT_LE(after.resident_bytes, before.resident_bytes + kResidentSlackBytes)
      << "before: " << before << "; after: " << after;
}

}  // namespace
}  // namespace rexec::testing
