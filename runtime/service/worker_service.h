// The worker's Cap'n Proto interfaces (schema/rexec.capnp): Gateway and Worker.
//
// Every value from the network is checked before use: hash lengths, list lengths, upload and
// state sizes, limits. A bad request fails that call with a clear message; the connection and the
// worker carry on.
#pragma once

#include <kj/async-io.h>

#include "rexec/worker.h"
#include "runtime/store/blob_store.h"
#include "runtime/jit/code_cache.h"
#include "runtime/exec/command_pool.h"
#include "runtime/exec/program_executor.h"
#include "schema/rexec.capnp.h"

namespace rexec {

struct WorkerCounters {
  uint64_t jobs_run = 0;
  uint64_t jobs_failed = 0;
};

// Everything a Worker capability needs, owned by the server that hands them out.
struct WorkerState {
  const WorkerOptions& options;
  BlobStore& modules;
  BlobStore& objects;
  CodeCache& code;
  ExecutionContext& execution;
  CommandPoolSet& command_pools;
  WorkerCounters counters;
};

kj::Own<wire::Gateway::Server> MakeGateway(WorkerState& state);

}  // namespace rexec
