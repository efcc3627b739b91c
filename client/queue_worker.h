// A Redis queue that looks like one worker: a local implementation of the wire::Worker interface
// whose methods go through Redis (queue/queue_keys.h) instead of a socket to a worker. The
// Client talks to it exactly as to a direct worker, so every job path (run first, upload on
// `missingModule`, streamed output, results, errors) is the same through both transports.
//
//   info         what the queue's workers registered (else this machine's target)
//   findMissing  modules Redis lacks;  upload  stores one under its hash, once
//   run          submits a QueuedJob (stdin read up front, bounded) and waits for its reply
//   stats        the live workers' counters, summed
//
// Each job's result is delivered once, whatever Redis or the workers do: replies are matched to
// jobs by id and anything for a job no longer waiting is dropped. A job fails with a clear error
// instead of hanging when no worker takes it within the queue wait, when its worker goes silent
// past its time limit, or when Redis comes back without the queue's contents.
#pragma once

#include <kj/async-io.h>

#include <cstdint>
#include <string>

#include "schema/rexec.capnp.h"

namespace rexec {

struct QueueClientOptions {
  std::string url;                       // redis://...
  std::string name = "rexec";            // the queue
  uint32_t queue_wait_ms = 60'000;       // how long a job may wait for a worker to take it
  uint64_t max_stdin_bytes = 16ull << 20;
};

// Connects (once, failing with a DISCONNECTED exception that names the URL) and serves; later
// losses of Redis are retried with backoff.
kj::Promise<kj::Own<wire::Worker::Server>> ConnectQueueWorker(kj::AsyncIoContext& io,
                                                               QueueClientOptions options);

}  // namespace rexec
