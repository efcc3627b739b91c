// Runs one job, whichever front door it came through: a Cap'n Proto call (worker_service.h) or
// an entry of a Redis queue (queue_consumer.h).
//
// It checks the job and clamps the requested limits to the worker's maxima (request_checks.h),
// waits for a slot (job_admission.h: jobs per source and per worker are bounded; the wait counts
// against the job's time limit), gets runnable code (code_cache.h), runs a plain program in a
// fresh process or a command on its module's executor pool, and fills in the JobResult. A module
// the worker lacks, or a library shipped with it, is answered with `missingModule`, for the
// sender to upload and ask again; a system library (-lNAME) it lacks fails the job at once
// ("library not found: -lNAME").
// A job's files are staged before it starts and its outputs read after it ends
// (exec/job_files.h); a command with files runs on an executor of its own. An input the worker
// lost since the sender checked fails the job.
#pragma once

#include <kj/async.h>

#include <cstdint>

#include "rexec/worker.h"
#include "runtime/exec/command_pool.h"
#include "runtime/exec/job_io.h"
#include "runtime/exec/program_executor.h"
#include "runtime/jit/code_cache.h"
#include "runtime/service/job_admission.h"
#include "runtime/service/worker_metrics.h"
#include "runtime/sandbox/sandbox.h"
#include "runtime/store/blob_store.h"
#include "runtime/store/file_store.h"
#include "schema/rexec.capnp.h"

namespace rexec {

struct WorkerCounters {
  uint64_t jobs_run = 0;
  uint64_t jobs_failed = 0;
  // Queue mode (queue_consumer.h).
  uint64_t queue_jobs = 0;          // taken from the queue and answered
  uint64_t queue_garbage = 0;       // entries that were not rexec jobs
  uint64_t queue_expired = 0;       // not started: deadline passed or the client was gone
  uint64_t queue_reclaimed = 0;     // taken over from a worker that stopped answering
  uint64_t queue_dead_lettered = 0; // given up after too many deliveries
  // The queue's state as last read from Redis (XINFO GROUPS), every few seconds.
  uint64_t queue_lag = 0;           // entries no worker has taken yet
  uint64_t queue_pending = 0;       // taken by some worker, not yet answered
  // Jobs' input files.
  uint64_t file_missing_checks = 0;  // findMissingFiles calls answered
  uint64_t file_upload_bytes = 0;    // input file bytes received
};

// Everything a job needs from its worker, owned by the server.
struct WorkerState {
  const WorkerOptions& options;
  BlobStore& modules;
  BlobStore& objects;
  FileStore& files;
  const Sandbox* sandbox;  // null: jobs run unsandboxed
  CodeCache& code;
  ExecutionContext& execution;
  CommandPoolSet& command_pools;
  JobAdmission& admission;
  WorkerMetrics& metrics;
  WorkerCounters counters;
  // Wraps every client call that can outlive its turn (a job, a throttled login). The RPC
  // system runs calls as detached tasks, which the event loop destroys only as it ends, after
  // the server: a call the server has not ended by then would touch what it freed. The server
  // cancels this first as it stops (worker_server.cpp).
  kj::Canceler calls;
};

// Throws a kj exception for a malformed job (the RPC front door reports it to the caller).
// `source` is whose job it is (a connection, the queue), for the job admission. Without `io` the
// job's stdin is empty and its output is returned inside `result`, bounded. `job` is read before
// the first suspension; `result` must outlive the returned promise. A job whose time limit
// passes while it waits for a slot ends timed out, with a note on its stderr.
kj::Promise<void> RunJob(WorkerState& state, JobAdmission::Source& source, wire::Job::Reader job,
                         kj::Own<JobIo> io, wire::JobResult::Builder result);

}  // namespace rexec
