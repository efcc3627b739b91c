// What `rexec-worker --metrics HOST:PORT` serves to Prometheus.
//
// Two kinds of figures, one page. What rexec-stats reports too (jobs run, cache hits, store
// sizes, queue counters) stays in the worker's own state and is read at each scrape, so the two
// views can never disagree. What only a time-series system wants (jobs by outcome, compile and
// run time histograms) is recorded here as jobs end.
#pragma once

#include <string>

#include "runtime/exec/job_outcome.h"
#include "runtime/jit/code_cache.h"
#include "runtime/service/metrics_registry.h"

namespace rexec {

struct WorkerState;

class WorkerMetrics {
 public:
  WorkerMetrics();

  // Adds the figures read from `state` at each scrape; `state` must outlive this. Call once.
  void Watch(WorkerState& state);

  void CodeLoaded(const LoadedCode& loaded);
  void JobEnded(const JobOutcome& outcome);

  // The page, in Prometheus text exposition format 0.0.4.
  std::string Render() const { return registry_.Render(); }

 private:
  MetricsRegistry registry_;
  MetricsRegistry::LabeledCounter* jobs_;
  MetricsRegistry::LabeledCounter* code_loads_;
  MetricsRegistry::Histogram* compile_seconds_;
  MetricsRegistry::Histogram* run_seconds_;
};

}  // namespace rexec
