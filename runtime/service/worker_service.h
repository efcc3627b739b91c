// The worker's Cap'n Proto interfaces (schema/rexec.capnp): Gateway and Worker.
//
// Every value from the network is checked before use: hash lengths, list lengths, upload and
// state sizes, limits. A bad request fails that call with a clear message; the connection and the
// worker carry on.
//
// A login with a wrong or missing token is logged (the peer's address, never a token) and
// slowed per peer address (login_throttle.h); a good one opens the connection to larger
// messages and gives it a Worker, whose jobs are the connection's (client_connections.h).
#pragma once

#include <kj/async-io.h>

#include "rexec/worker.h"
#include "runtime/service/client_connections.h"
#include "runtime/service/job_runner.h"
#include "runtime/service/login_throttle.h"
#include "schema/rexec.capnp.h"

namespace rexec {

// The bootstrap capability of one connection. `connection` and `throttle` must outlive it.
kj::Own<wire::Gateway::Server> MakeGateway(WorkerState& state, ClientConnection& connection,
                                           LoginThrottle& throttle);

}  // namespace rexec
