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
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "bench/bench_stats.h"
#include "bench/programs/trivial_command.h"
#include "rexec/client.h"

namespace {

using rexec::bench::Clock;
using rexec::bench::MicrosecondsBetween;
using rexec::bench::Percentile;

constexpr int kSequential = 3000;
constexpr int kConcurrent = 30000;
constexpr int kInFlight = 64;

struct Sequential {
  double p50, p99, per_second;
};

template <typename Job>
Sequential MeasureSequential(Job job) {
  for (int i = 0; i < 300; ++i) job();  // warm up
  std::vector<double> samples;
  auto start = Clock::now();
  for (int i = 0; i < kSequential; ++i) {
    auto before = Clock::now();
    job();
    samples.push_back(MicrosecondsBetween(before, Clock::now()));
  }
  double seconds = MicrosecondsBetween(start, Clock::now()) / 1e6;
  return {Percentile(samples, 50), Percentile(samples, 99), kSequential / seconds};
}

// Keeps `kInFlight` jobs going until `kConcurrent` have finished; `submit(done)` starts one.
template <typename Submit>
double MeasureConcurrent(Submit submit) {
  std::mutex mutex;
  std::condition_variable finished;
  int started = 0, completed = 0, failed = 0;
  std::function<void()> start_one;
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
  Sequential run = MeasureSequential([&] {
    auto result = c.Run(*module, Trivial{value});
    if (!result.ok() || result->state.value != value + 1) std::abort();
    ++value;
  });
  std::string state = rexec::encode_state(Trivial{1});
  double run_parallel = MeasureConcurrent([&](auto done) {
    c.SubmitCommand(*module, "Trivial", state, {},
                    [done](absl::StatusOr<rexec::JobReport> r) {
                      done(r.ok() && r->outcome == rexec::JobReport::Outcome::kExited);
                    });
  });

  if (through_queue) {
    std::printf("| %s | %.0f µs | %.0f µs | %.0f/s | %.0f/s |\n", argv[3], run.p50, run.p99,
                run.per_second, run_parallel);
    return 0;
  }
  Sequential ping = MeasureSequential([&] { (void)c.Ping(); });
  double ping_parallel = MeasureConcurrent(
      [&](auto done) { c.SubmitPing([done](absl::Status s) { done(s.ok()); }); });
  const char* over = tls ? " over TLS" : "";
  std::printf("| ping (floor)%s | %.0f µs | %.0f µs | %.0f/s | %.0f/s |\n", over, ping.p50,
              ping.p99, ping.per_second, ping_parallel);
  std::printf("| trivial command, Client::Run / Submit%s | %.0f µs | %.0f µs | %.0f/s | %.0f/s |\n",
              over, run.p50, run.p99, run.per_second, run_parallel);
  std::printf("| ratio command / ping | %.2f× | %.2f× | %.2f× | %.2f× |\n", run.p50 / ping.p50,
              run.p99 / ping.p99, run.per_second / ping.per_second,
              run_parallel / ping_parallel);
  std::printf("| command: 64 in flight / one at a time | | | | %.1f× |\n",
              run_parallel / run.per_second);
  return 0;
}
