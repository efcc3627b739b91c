// Latency and throughput of jobs through the C++ API, against the floor of a bare Cap'n Proto
// round trip (Worker.ping) between the same two processes.
//
//   api_latency [--tls-ca FILE] HOST:PORT SOURCE_DIR
//   api_latency redis://HOST:PORT SOURCE_DIR LABEL
//
// Prints markdown rows: p50, p99 and jobs/s one at a time, and jobs/s with 64 in flight, for
// ping and for a trivial command (bench/programs/trivial_command.h) run with Client::Run/Submit.
// With --tls-ca the connection is TLS (rexec-worker --tls-cert/--tls-key) and the rows say so.
// Through a queue (Client::ConnectQueue) there is no ping: it prints one row, named LABEL.
//
// Ping and command are measured in alternating rounds, so that the machine's drift (this kind
// of VM's speed wanders by tens of percent within a minute) weighs on both alike: latencies are
// pooled over the rounds, rates are the median of the rounds'.
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_stats.h"
#include "bench/programs/trivial_command.h"
#include "rexec/client.h"

namespace {

using rexec::bench::Clock;
using rexec::bench::MicrosecondsBetween;
using rexec::bench::Percentile;

constexpr int kRounds = 5;
constexpr int kSequential = 600;   // per round
constexpr int kConcurrent = 6000;  // per round
constexpr int kInFlight = 64;

// One round of jobs one at a time: each one's latency, and the round's rate.
struct SequentialRound {
  std::vector<double> samples;
  double per_second;
};

template <typename Job>
SequentialRound MeasureSequential(Job job) {
  for (int i = 0; i < 60; ++i) job();  // warm up
  SequentialRound round;
  auto start = Clock::now();
  for (int i = 0; i < kSequential; ++i) {
    auto before = Clock::now();
    job();
    round.samples.push_back(MicrosecondsBetween(before, Clock::now()));
  }
  round.per_second = kSequential / (MicrosecondsBetween(start, Clock::now()) / 1e6);
  return round;
}

// What the rounds of one kind of job measured.
struct Measured {
  std::vector<double> latencies;  // pooled
  std::vector<double> sequential_rates;
  std::vector<double> concurrent_rates;

  void Add(const SequentialRound& round, double concurrent_rate) {
    latencies.insert(latencies.end(), round.samples.begin(), round.samples.end());
    sequential_rates.push_back(round.per_second);
    concurrent_rates.push_back(concurrent_rate);
  }
  double p50() const { return Percentile(latencies, 50); }
  double p99() const { return Percentile(latencies, 99); }
  double sequential_rate() const { return Percentile(sequential_rates, 50); }
  double concurrent_rate() const { return Percentile(concurrent_rates, 50); }
};

// Keeps `kInFlight` jobs going until `kConcurrent` have finished; `submit(done)` starts one.
template <typename Submit>
double MeasureConcurrent(Submit submit) {
  std::mutex mutex;
  std::condition_variable finished;
  int started = 0, completed = 0, failed = 0;
  auto on_done = [&](bool ok) {
    std::lock_guard lock(mutex);
    ++completed;
    if (!ok) ++failed;
    finished.notify_one();
  };
  auto begin = Clock::now();
  std::unique_lock lock(mutex);
  while (completed < kConcurrent) {
    while (started < kConcurrent && started - completed < kInFlight) {
      ++started;
      lock.unlock();
      submit(on_done);
      lock.lock();
    }
    finished.wait(lock, [&] {
      return completed == kConcurrent || (started < kConcurrent && started - completed < kInFlight);
    });
  }
  double seconds = MicrosecondsBetween(begin, Clock::now()) / 1e6;
  if (failed > 0) std::fprintf(stderr, "api_latency: %d jobs failed\n", failed);
  return kConcurrent / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  rexec::ClientOptions options;
  options.bitcode_cache_dir = "-";
  if (argc > 2 && std::string_view(argv[1]) == "--tls-ca") {
    options.tls.ca_file = argv[2];
    argv += 2;
    argc -= 2;
  }
  const bool tls = !options.tls.ca_file.empty();
  const bool through_queue =
      !tls && argc == 4 && std::string_view(argv[1]).starts_with("redis://");
  if (argc != 3 && !through_queue) {
    std::fprintf(stderr,
                 "usage: api_latency [--tls-ca FILE] HOST:PORT BENCH_SOURCE_DIR\n"
                 "       api_latency redis://HOST:PORT BENCH_SOURCE_DIR LABEL\n");
    return 2;
  }
  auto client = through_queue ? rexec::Client::ConnectQueue(argv[1], options)
                              : rexec::Client::Connect(argv[1], options);
  if (!client.ok()) {
    std::fprintf(stderr, "api_latency: %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  auto module = (*client)->Compile({std::string(argv[2]) + "/programs/trivial_command.cpp"}, {"-O2"});
  if (!module.ok()) {
    std::fprintf(stderr, "api_latency: %s\n", std::string(module.status().message()).c_str());
    return 1;
  }
  rexec::Client& c = **client;

  int value = 0;
  auto run_one = [&] {
    auto result = c.Run(*module, Trivial{value});
    if (!result.ok() || result->state.value != value + 1) std::abort();
    ++value;
  };
  std::string state = rexec::encode_state(Trivial{1});
  auto submit_command = [&](auto done) {
    c.SubmitCommand(*module, "Trivial", state, {},
                    [done](absl::StatusOr<rexec::JobReport> r) {
                      done(r.ok() && r->outcome == rexec::JobReport::Outcome::kExited);
                    });
  };
  auto ping_one = [&] { (void)c.Ping(); };
  auto submit_ping = [&](auto done) {
    c.SubmitPing([done](absl::Status s) { done(s.ok()); });
  };

  Measured run, ping;
  for (int round = 0; round < kRounds; ++round) {
    SequentialRound sequential = MeasureSequential(run_one);
    run.Add(sequential, MeasureConcurrent(submit_command));
    if (through_queue) continue;
    sequential = MeasureSequential(ping_one);
    ping.Add(sequential, MeasureConcurrent(submit_ping));
  }

  if (through_queue) {
    std::printf("| %s | %.0f µs | %.0f µs | %.0f/s | %.0f/s |\n", argv[3], run.p50(), run.p99(),
                run.sequential_rate(), run.concurrent_rate());
    return 0;
  }
  const char* over = tls ? " over TLS" : "";
  std::printf("| ping (floor)%s | %.0f µs | %.0f µs | %.0f/s | %.0f/s |\n", over, ping.p50(),
              ping.p99(), ping.sequential_rate(), ping.concurrent_rate());
  std::printf("| trivial command, Client::Run / Submit%s | %.0f µs | %.0f µs | %.0f/s | %.0f/s |\n",
              over, run.p50(), run.p99(), run.sequential_rate(), run.concurrent_rate());
  std::printf("| ratio command / ping | %.2f× | %.2f× | %.2f× | %.2f× |\n", run.p50() / ping.p50(),
              run.p99() / ping.p99(), run.sequential_rate() / ping.sequential_rate(),
              run.concurrent_rate() / ping.concurrent_rate());
  std::printf("| command: 64 in flight / one at a time | | | | %.1f× |\n",
              run.concurrent_rate() / run.sequential_rate());
  return 0;
}
