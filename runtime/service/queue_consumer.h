// The worker's second front door: jobs from a Redis Stream shared by any number of workers.
//
// All workers of a queue form one consumer group on its job stream (queue/queue_keys.h). Each
// takes up to `prefetch` jobs at a time (XREADGROUP), runs them through the same RunJob as the
// Cap'n Proto service, and answers on the submitting client's reply stream: output chunks while
// a job runs, then its result. Guarantees, and how they are kept:
//
// - At-least-once execution, one result per job. A job is acknowledged by the script that
//   publishes its result, and that script publishes only if the acknowledgement took, so two
//   workers that both ran a job (one presumed dead) answer it once.
// - A killed worker loses no job. Its jobs stay pending in the group; a live worker refreshes
//   the idle time of the jobs it holds every third of the visibility timeout (XCLAIM JUSTID), so
//   only a silent worker's jobs go idle, and every worker looks for jobs idle past the timeout
//   and takes them over (XCLAIM).
// - Poison jobs end. A job delivered `max_deliveries` times without an answer goes to the
//   dead-letter stream and its client gets an error instead of another delivery.
// - Garbage is skipped: an entry that is not a well-formed job is logged and acknowledged.
// - A caller that gave up is not served: a job past its deadline, or whose client's liveness
//   key has expired, is acknowledged without running.
// - Redis going away costs time, not the worker: both connections come back with backoff, and
//   a group lost with a non-persistent Redis is created again.
//
// Modules come through Redis too: a job whose module this worker lacks fetches it by hash,
// verifies it and keeps it in the worker's own store.
#pragma once

#include <kj/async-io.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/service/job_runner.h"

namespace rexec {

class QueueConsumer {
 public:
  // Checks the URL and the queue name; connects only in Run().
  static absl::StatusOr<std::unique_ptr<QueueConsumer>> Create(WorkerState& state,
                                                               kj::AsyncIoContext& io);
  ~QueueConsumer() noexcept(false);

  // This worker's name in the consumer group: host, pid and a random suffix.
  const std::string& consumer() const;
  // A line for the operator: which queue, where, as whom.
  std::string Description() const;

  // Serves the queue; never resolves (cancel it to stop). Jobs running when it is cancelled are
  // killed and, being unacknowledged, are taken over by another worker.
  kj::Promise<void> Run();

  class Impl;

 private:
  explicit QueueConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rexec
