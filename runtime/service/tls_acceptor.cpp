#include "runtime/service/tls_acceptor.h"

#include <kj/debug.h>

#include "runtime/service/connection_refusal.h"

namespace rexec {

TlsAcceptor::TlsAcceptor(kj::Own<kj::TlsContext> context, kj::Timer& timer)
    : context_(kj::mv(context)), timer_(timer) {}

kj::Promise<void> TlsAcceptor::Accept(
    kj::Own<kj::AsyncIoStream> connection,
    kj::Function<kj::Promise<void>(kj::Own<kj::AsyncIoStream>)> serve) {
  // TLS gets the connection on loan: it must outlive a failed handshake, to explain it.
  kj::AsyncIoStream& raw = *connection;
  auto handshake = timer_.timeoutAfter(
      kHandshakeTimeout,
      context_->wrapServer(kj::Own<kj::AsyncIoStream>(&raw, kj::NullDisposer::instance)));
  return handshake
      .then(
          [serve = kj::mv(serve)](kj::Own<kj::AsyncIoStream> secured) mutable {
            return serve(kj::mv(secured));
          },
          [this, &raw](kj::Exception&& exception) {
            KJ_LOG(WARNING, "refused a connection: TLS handshake failed",
                   exception.getDescription());
            // A client that does not speak TLS reads this as the worker's first message.
            return RefuseConnection(raw, timer_,
                                    "this worker requires TLS: connect with the CA that signed "
                                    "its certificate (rexec-send --tls-ca FILE)");
          })
      .attach(kj::mv(connection));  // destroyed after the TLS stream that borrows it
}

}  // namespace rexec
