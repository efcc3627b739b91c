// Turning a connection away with a reason the peer can show: a Cap'n Proto Abort message, the one
// thing a client reading plain Cap'n Proto reads first. Used for a client that does not speak TLS
// at a TLS listener, and for a new connection when the worker holds all it may.
#pragma once

#include <kj/async-io.h>
#include <kj/string.h>

namespace rexec {

// Writes an Abort carrying `reason`, shuts down writing, and reads (and drops) what the peer
// still sends for a little while, within a bounded number of bytes: closing a socket that holds
// unread data sends a reset, which can destroy the explanation before the peer reads it.
// Resolves once the peer has gone or that while has passed; never fails.
kj::Promise<void> RefuseConnection(kj::AsyncIoStream& stream, kj::Timer& timer,
                                   kj::StringPtr reason);

}  // namespace rexec
