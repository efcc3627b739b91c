// A job entry of the queue's stream (schema/queue.capnp), decoded and checked: how the fields of
// an entry that any client of the Redis could have written become a job, or garbage.
//
// The queue consumer (queue_consumer.h) decodes every entry it takes with this, and so does the
// fuzz target fuzz/queue_entry_fuzzer.cpp. What the job asks to run is checked later, by
// RunJob, like a job from the Cap'n Proto front door.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/memory.h>

#include <string>

#include "absl/status/statusor.h"
#include "queue/queue_keys.h"
#include "queue/redis_connection.h"
#include "rexec/worker.h"
#include "schema/queue.capnp.h"

namespace rexec {

struct QueuedJobEntry {
  std::string entry_id;
  std::string reply_stream;
  std::string job_id;
  kj::Array<capnp::word> words;  // the entry's payload, which `message` reads
  kj::Own<capnp::FlatArrayMessageReader> message;
  wire::QueuedJob::Reader queued;
};

// Bounds for reading a payload: a job is mostly its state and its stdin.
capnp::ReaderOptions QueuedJobReaderOptions(const WorkerOptions& options);

// The entry's flat [field, value, ...] list -> its job (the payload is field `d`), or an
// InvalidArgument error that says why the entry is garbage.
absl::StatusOr<kj::Own<QueuedJobEntry>> DecodeQueuedJob(std::string entry_id, RedisValue fields,
                                                        const WorkerOptions& options,
                                                        const capnp::ReaderOptions& reader_options,
                                                        const QueueKeys& keys);

}  // namespace rexec
