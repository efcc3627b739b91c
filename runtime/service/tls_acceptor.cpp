#include "runtime/service/tls_acceptor.h"

#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize-async.h>
#include <kj/debug.h>

namespace rexec {
namespace {

// How long, and for how many bytes, a refused peer is still read from after it has been told
// why: closing a socket that holds unread data sends a reset, which can destroy the explanation
// before the peer reads it.
constexpr kj::Duration kLingerTimeout = 2 * kj::SECONDS;
constexpr size_t kMaxLingerBytes = 1 << 20;

kj::Promise<void> DiscardUntilClosed(kj::AsyncIoStream& stream, size_t budget) {
  auto buffer = kj::heapArray<kj::byte>(4096);
  auto read = stream.tryRead(buffer.begin(), 1, buffer.size());
  return read.then([&stream, budget, buffer = kj::mv(buffer)](size_t n) -> kj::Promise<void> {
    if (n == 0 || n >= budget) return kj::READY_NOW;
    return DiscardUntilClosed(stream, budget - n);
  });
}

// A client that does not speak TLS reads this as the worker's first Cap'n Proto message.
kj::Promise<void> ExplainAndClose(kj::AsyncIoStream& stream, kj::Timer& timer) {
  auto message = kj::heap<capnp::MallocMessageBuilder>();
  auto abort = message->initRoot<capnp::rpc::Message>().initAbort();
  abort.setType(capnp::rpc::Exception::Type::FAILED);
  abort.setReason(
      "this worker requires TLS: connect with the CA that signed its certificate "
      "(rexec-send --tls-ca FILE)");
  auto told = capnp::writeMessage(stream, *message).attach(kj::mv(message)).then([&stream] {
    stream.shutdownWrite();
    return DiscardUntilClosed(stream, kMaxLingerBytes);
  });
  return timer.timeoutAfter(kLingerTimeout, kj::mv(told))
      .catch_([](kj::Exception&&) {});  // the peer may be gone already, or never leave
}

}  // namespace

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
            return ExplainAndClose(raw, timer_);
          })
      .attach(kj::mv(connection));  // destroyed after the TLS stream that borrows it
}

}  // namespace rexec
