// The TLS handshake of a worker's listener, run on each accepted connection.
//
// It runs in the connection's own task, not in accept(), so a peer that stalls or fails it holds
// up no one: a handshake has kHandshakeTimeout. A peer that fails it gets a reason it can show
// before the connection closes: a TLS client gets OpenSSL's alert (unknown CA, certificate
// required), and a client that does not speak TLS at all, reading plain Cap'n Proto, gets an
// Abort message saying the worker requires TLS. Either way the worker logs one line and serves on.
#pragma once

#include <kj/async-io.h>
#include <kj/compat/tls.h>
#include <kj/function.h>

namespace rexec {

class TlsAcceptor {
 public:
  static constexpr kj::Duration kHandshakeTimeout = 10 * kj::SECONDS;

  TlsAcceptor(kj::Own<kj::TlsContext> context, kj::Timer& timer);

  // Secures `connection`, then runs `serve` on the TLS stream; resolves when that is done, or
  // once a refused peer has been told and has gone.
  kj::Promise<void> Accept(kj::Own<kj::AsyncIoStream> connection,
                           kj::Function<kj::Promise<void>(kj::Own<kj::AsyncIoStream>)> serve);

 private:
  kj::Own<kj::TlsContext> context_;
  kj::Timer& timer_;
};

}  // namespace rexec
