#include "runtime/service/worker_metrics.h"

#include <kj/debug.h>

#include "runtime/service/job_runner.h"

namespace rexec {
namespace {

// Registration only fails for a bad or repeated name: a bug here, never a user's input.
template <typename T>
T Registered(absl::StatusOr<T> metric) {
  KJ_REQUIRE(metric.ok(), std::string(metric.status().message()));
  return *metric;
}

void Registered(const absl::Status& status) {
  KJ_REQUIRE(status.ok(), std::string(status.message()));
}

const char* OutcomeLabel(JobOutcome::Kind kind) {
  switch (kind) {
    case JobOutcome::Kind::kExited:
      return "exited";
    case JobOutcome::Kind::kSignaled:
      return "signaled";
    case JobOutcome::Kind::kTimedOut:
      return "timed_out";
    case JobOutcome::Kind::kOutputLimitExceeded:
      return "output_limit";
    case JobOutcome::Kind::kException:
      return "exception";
    case JobOutcome::Kind::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace

WorkerMetrics::WorkerMetrics()
    : jobs_(Registered(registry_.AddLabeledCounter(
          "rexec_jobs_total", "Jobs finished, by how they ended.", "outcome"))),
      code_loads_(Registered(registry_.AddLabeledCounter(
          "rexec_code_loads_total",
          "Where jobs' code came from: already linked, the object cache, a compile, or nowhere "
          "(the module was missing and the client uploaded it).",
          "source"))),
      compile_seconds_(Registered(registry_.AddHistogram(
          "rexec_compile_seconds", "Time to compile a module's bitcode to machine code.",
          MetricsRegistry::CompileSecondsBuckets()))),
      run_seconds_(Registered(registry_.AddHistogram(
          "rexec_run_seconds", "Time a job ran, from its start to its result.",
          MetricsRegistry::RunSecondsBuckets()))) {
  // Every outcome is visible from the first scrape, so rate() has a zero to start from.
  for (JobOutcome::Kind kind :
       {JobOutcome::Kind::kExited, JobOutcome::Kind::kSignaled, JobOutcome::Kind::kTimedOut,
        JobOutcome::Kind::kOutputLimitExceeded, JobOutcome::Kind::kException,
        JobOutcome::Kind::kFailed}) {
    jobs_->Increment(OutcomeLabel(kind), 0);
  }
  for (const char* source : {"linked", "object_cache", "compiled", "missing", "failed"}) {
    code_loads_->Increment(source, 0);
  }
}

void WorkerMetrics::Watch(WorkerState& state) {
  auto counter = [this](const char* name, const char* help, std::function<double()> read) {
    Registered(registry_.AddCounterCallback(name, help, std::move(read)));
  };
  auto gauge = [this](const char* name, const char* help, std::function<double()> read) {
    Registered(registry_.AddGaugeCallback(name, help, std::move(read)));
  };
  WorkerState* s = &state;
  gauge("rexec_linked_modules", "Modules linked and ready to run.",
        [s] { return double(s->code.stats().linked_modules); });
  gauge("rexec_executors_alive", "Command executor processes alive.",
        [s] { return double(s->command_pools.live_executors()); });
  gauge("rexec_module_store_bytes", "Bitcode kept in memory.",
        [s] { return double(s->modules.stats().memory_bytes); });
  gauge("rexec_object_store_bytes", "Machine code kept in memory.",
        [s] { return double(s->objects.stats().memory_bytes); });
  gauge("rexec_store_disk_bytes", "Bitcode and machine code kept on disk.", [s] {
    return double(s->modules.stats().disk_bytes + s->objects.stats().disk_bytes);
  });
  counter("rexec_file_missing_checks_total", "Questions which input files the worker lacks.",
          [s] { return double(s->counters.file_missing_checks); });
  counter("rexec_file_upload_bytes_total", "Input file bytes received.",
          [s] { return double(s->counters.file_upload_bytes); });
  gauge("rexec_file_store_bytes", "Input files kept on disk.",
        [s] { return double(s->files.stats().bytes); });
  if (state.options.queue_url.empty()) return;
  struct QueueFigure {
    const char* name;
    const char* help;
    uint64_t WorkerCounters::*value;
    bool is_counter;
  };
  static constexpr QueueFigure kQueueFigures[] = {
      {"rexec_queue_jobs_total", "Jobs taken from the queue and answered.",
       &WorkerCounters::queue_jobs, true},
      {"rexec_queue_garbage_total", "Queue entries that were not rexec jobs.",
       &WorkerCounters::queue_garbage, true},
      {"rexec_queue_expired_total", "Jobs not started: their caller had given up.",
       &WorkerCounters::queue_expired, true},
      {"rexec_queue_reclaimed_total", "Jobs taken over from a worker that stopped answering.",
       &WorkerCounters::queue_reclaimed, true},
      {"rexec_queue_dead_lettered_total", "Jobs given up after too many deliveries.",
       &WorkerCounters::queue_dead_lettered, true},
      {"rexec_queue_lag", "Jobs in the queue that no worker has taken yet (XINFO GROUPS lag).",
       &WorkerCounters::queue_lag, false},
      {"rexec_queue_pending", "Jobs taken by some worker and not yet answered.",
       &WorkerCounters::queue_pending, false},
  };
  for (const QueueFigure& figure : kQueueFigures) {
    auto read = [s, value = figure.value] { return double(s->counters.*value); };
    if (figure.is_counter) {
      counter(figure.name, figure.help, read);
    } else {
      gauge(figure.name, figure.help, read);
    }
  }
}

void WorkerMetrics::CodeLoaded(const LoadedCode& loaded) {
  if (!loaded.module.ok()) {
    bool missing = loaded.module.status().code() == absl::StatusCode::kNotFound;
    code_loads_->Increment(missing ? "missing" : "failed");
  } else if (loaded.link_cached) {
    code_loads_->Increment("linked");
  } else if (loaded.compile_cached) {
    code_loads_->Increment("object_cache");
  } else {
    code_loads_->Increment("compiled");
    compile_seconds_->Observe(static_cast<double>(loaded.compile_us) / 1e6);
  }
}

void WorkerMetrics::JobEnded(const JobOutcome& outcome) {
  jobs_->Increment(OutcomeLabel(outcome.kind));
  if (outcome.kind != JobOutcome::Kind::kFailed) {
    run_seconds_->Observe(static_cast<double>(outcome.run_us) / 1e6);
  }
}

}  // namespace rexec
