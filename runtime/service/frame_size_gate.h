// A stream that holds back any Cap'n Proto message larger than a bound until it is opened: what
// lets a connection send only small messages before it has logged in.
//
// It reads along the segment tables of the messages passing through it (the stream framing of
// capnp/serialize-async.h, which TwoPartyVatNetwork speaks). When a table announces a message of
// more than `closed_limit_bytes`, the read that completes the table does not complete until
// Open(): the reader (the RPC system) has not allocated the message yet, and the peer's further
// bytes stay in the socket's buffers. So a client that pipelines a large call behind its login
// waits only for the login, and a peer that sends a large message without logging in costs the
// worker no memory while it waits to be closed. Once open, the gate passes everything. A table
// the reader will refuse anyway (more than `open_limit_bytes`, the RPC system's own bound, or
// too many segments) passes at once, so that garbage is refused at once, as it was.
//
// Fail() ends every read, pending or later, with that exception; the RPC system then sends it to
// the peer as its Abort reason and disconnects. Each read that returns bytes calls `on_received`.
#pragma once

#include <kj/async-io.h>
#include <kj/function.h>

#include <cstddef>
#include <cstdint>

namespace rexec {

class FrameSizeGate final : public kj::AsyncIoStream {
 public:
  FrameSizeGate(kj::Own<kj::AsyncIoStream> inner, uint64_t closed_limit_bytes,
                uint64_t open_limit_bytes, kj::Function<void()> on_received);

  void Open();
  void Fail(kj::Exception reason);

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
  kj::Promise<void> whenWriteDisconnected() override;
  void shutdownWrite() override;
  void abortRead() override;
  void getsockopt(int level, int option, void* value, kj::uint* length) override;
  void setsockopt(int level, int option, const void* value, kj::uint length) override;
  void getsockname(struct sockaddr* addr, kj::uint* length) override;
  void getpeername(struct sockaddr* addr, kj::uint* length) override;

 private:
  // Follows the framing through `size` bytes; returns whether a segment table ending within them
  // announces a message to hold back while closed.
  bool Follow(const kj::byte* data, size_t size);

  kj::Own<kj::AsyncIoStream> inner_;
  const uint64_t closed_limit_bytes_;
  const uint64_t open_limit_bytes_;
  kj::Function<void()> on_received_;
  bool open_ = false;
  kj::Own<kj::PromiseFulfiller<void>> open_fulfiller_;
  kj::ForkedPromise<void> opened_;
  kj::Own<kj::PromiseFulfiller<void>> fail_fulfiller_;
  kj::ForkedPromise<void> failed_;  // never fulfilled: rejected by Fail()

  // Where the framing is: inside a segment table (counting its 32-bit words) or a message body.
  uint32_t word_ = 0;              // the table word being assembled, little-endian
  unsigned word_bytes_ = 0;        // bytes of it seen so far
  uint64_t table_position_ = 0;    // table words seen so far
  uint64_t segments_ = 0;          // the message's segment count (known after the first word)
  uint64_t table_words_ = 0;       // words in this table, padding included
  uint64_t message_bytes_ = 0;     // the message's size, summed from the table
  uint64_t body_left_ = 0;         // bytes of the current message's segments still to pass
};

}  // namespace rexec
