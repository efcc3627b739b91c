// The worker's metrics, kept in one place and rendered as Prometheus text exposition (0.0.4).
//
//   MetricsRegistry metrics;
//   auto jobs = metrics.AddLabeledCounter("rexec_jobs_total", "Jobs finished.", "outcome");
//   auto compile = metrics.AddHistogram("rexec_compile_seconds", "Bitcode to machine code.",
//                                       MetricsRegistry::CompileSecondsBuckets());
//   metrics.AddGaugeCallback("rexec_object_cache_disk_bytes", "Compiled objects on disk.",
//                            [&objects] { return double(objects.stats().disk_bytes); });
//   (*jobs)->Increment("exited");
//   (*compile)->Observe(0.042);
//   std::string page = metrics.Render();
//
// A metric is registered once, under a name that follows the Prometheus charset
// ([a-zA-Z_:][a-zA-Z0-9_:]*; a label name [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__");
// registering a bad or already used name is an error, reported as a Status, so a typo fails at
// startup instead of producing a page Prometheus rejects. The registry owns every metric: the
// pointers it hands out stay valid for its lifetime.
//
// Thread safety: registering, updating and rendering may happen on any threads at once.
// Counters and gauges are single atomics; a histogram takes a lock of its own per observation
// so that its buckets, sum and count always agree in a rendered page. A gauge callback runs
// inside Render(), on the thread that calls it, without any registry lock held: it may read
// whatever objects that thread may read (the worker renders on its event loop thread).
//
// Render() lists metrics in registration order, a labelled counter's series sorted by label
// value. A labelled counter shows a series only once it has been incremented; Increment(value, 0)
// makes one visible at zero before its first event.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rexec {

class MetricsRegistry {
 public:
  // Only goes up. A negative or NaN amount is a caller's bug and throws (kj::Exception).
  class Counter {
   public:
    void Increment(double amount = 1);

   private:
    friend class MetricsRegistry;
    Counter() = default;
    std::atomic<double> value_{0};
  };

  // A counter split by the value of one label, e.g. rexec_jobs_total{outcome="exited"}.
  class LabeledCounter {
   public:
    void Increment(std::string_view label_value, double amount = 1);

   private:
    friend class MetricsRegistry;
    explicit LabeledCounter(std::string label_name) : label_name_(std::move(label_name)) {}
    const std::string label_name_;
    std::mutex mutex_;
    std::map<std::string, double, std::less<>> values_;
  };

  class Gauge {
   public:
    void Set(double value);
    void Add(double amount);

   private:
    friend class MetricsRegistry;
    Gauge() = default;
    std::atomic<double> value_{0};
  };

  // Counts observations into fixed buckets; Prometheus derives quantiles from them.
  class Histogram {
   public:
    void Observe(double value);

   private:
    friend class MetricsRegistry;
    explicit Histogram(std::vector<double> upper_bounds);
    const std::vector<double> upper_bounds_;  // ascending; the +Inf bucket is implicit
    std::mutex mutex_;
    std::vector<uint64_t> bucket_counts_;  // per bucket, not cumulative; the last one is +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
  };

  // Upper bounds in seconds: compiles take 1 ms (a cached object) to a minute (a large module
  // at -O3); runs take 10 us (a warm command) to a minute.
  static std::vector<double> CompileSecondsBuckets();
  static std::vector<double> RunSecondsBuckets();

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  absl::StatusOr<Counter*> AddCounter(std::string name, std::string help);
  absl::StatusOr<LabeledCounter*> AddLabeledCounter(std::string name, std::string help,
                                                    std::string label_name);
  absl::StatusOr<Gauge*> AddGauge(std::string name, std::string help);
  // A gauge whose value `read` computes each time the page is rendered.
  absl::Status AddGaugeCallback(std::string name, std::string help, std::function<double()> read);
  // A counter kept elsewhere (it must only go up), read each time the page is rendered.
  absl::Status AddCounterCallback(std::string name, std::string help,
                                  std::function<double()> read);
  // `upper_bounds` must be finite and strictly ascending, and may be empty (only +Inf).
  absl::StatusOr<Histogram*> AddHistogram(std::string name, std::string help,
                                          std::vector<double> upper_bounds);

  // The whole page in text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4).
  std::string Render() const;

 private:
  struct Family;
  absl::Status Register(std::unique_ptr<Family> family);

  mutable std::mutex mutex_;
  // Never shrinks, and a Family never moves: Render() walks a copy of these pointers unlocked.
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace rexec
