// The worker's Cap'n Proto interfaces (schema/rexec.capnp): Gateway and Worker.
//
// Every value from the network is checked before use: hash lengths, list lengths, upload and
// state sizes, limits. A bad request fails that call with a clear message; the connection and the
// worker carry on.
#pragma once

#include <kj/async-io.h>

#include "rexec/worker.h"
#include "runtime/service/job_runner.h"
#include "schema/rexec.capnp.h"

namespace rexec {

kj::Own<wire::Gateway::Server> MakeGateway(WorkerState& state);

}  // namespace rexec
