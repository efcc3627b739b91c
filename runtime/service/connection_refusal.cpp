#include "runtime/service/connection_refusal.h"

#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize-async.h>

namespace rexec {
namespace {

// How long, and for how many bytes, a refused peer is still read from after it has been told why.
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

}  // namespace

kj::Promise<void> RefuseConnection(kj::AsyncIoStream& stream, kj::Timer& timer,
                                   kj::StringPtr reason) {
  auto message = kj::heap<capnp::MallocMessageBuilder>();
  auto abort = message->initRoot<capnp::rpc::Message>().initAbort();
  abort.setType(capnp::rpc::Exception::Type::FAILED);
  abort.setReason(reason);
  auto told = kj::evalNow([&] { return capnp::writeMessage(stream, *message); })
                  .attach(kj::mv(message))
                  .then([&stream] {
                    stream.shutdownWrite();
                    return DiscardUntilClosed(stream, kMaxLingerBytes);
                  });
  return timer.timeoutAfter(kLingerTimeout, kj::mv(told))
      .catch_([](kj::Exception&&) {});  // the peer may be gone already, or never leave
}

}  // namespace rexec
