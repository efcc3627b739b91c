#include "runtime/service/frame_size_gate.h"

#include <algorithm>
#include <limits>

namespace rexec {
namespace {

// Cap'n Proto refuses a message of more segments than this outright; a table announcing more is
// treated as announcing a message too large to read.
constexpr uint64_t kMaxSegments = 512;
constexpr uint64_t kUnreadable = std::numeric_limits<uint64_t>::max();

}  // namespace

FrameSizeGate::FrameSizeGate(kj::Own<kj::AsyncIoStream> inner, uint64_t closed_limit_bytes,
                             uint64_t open_limit_bytes, kj::Function<void()> on_received)
    : inner_(kj::mv(inner)),
      closed_limit_bytes_(closed_limit_bytes),
      open_limit_bytes_(open_limit_bytes),
      on_received_(kj::mv(on_received)),
      opened_(nullptr),
      failed_(nullptr) {
  auto opened = kj::newPromiseAndFulfiller<void>();
  open_fulfiller_ = kj::mv(opened.fulfiller);
  opened_ = opened.promise.fork();
  auto failed = kj::newPromiseAndFulfiller<void>();
  fail_fulfiller_ = kj::mv(failed.fulfiller);
  failed_ = failed.promise.fork();
}

void FrameSizeGate::Open() {
  if (open_) return;
  open_ = true;
  open_fulfiller_->fulfill();
}

void FrameSizeGate::Fail(kj::Exception reason) {
  open_fulfiller_->reject(kj::cp(reason));
  fail_fulfiller_->reject(kj::mv(reason));
}

bool FrameSizeGate::Follow(const kj::byte* data, size_t size) {
  bool hold = false;
  while (size > 0) {
    if (body_left_ > 0) {
      size_t skipped = static_cast<size_t>(std::min<uint64_t>(body_left_, size));
      body_left_ -= skipped;
      data += skipped;
      size -= skipped;
      continue;
    }
    word_ |= static_cast<uint32_t>(*data++) << (8 * word_bytes_);
    --size;
    if (++word_bytes_ < 4) continue;
    const uint32_t value = word_;
    word_ = 0;
    word_bytes_ = 0;
    if (table_position_ == 0) {
      // The segment count minus one, then each segment's size in words, padded to whole words.
      segments_ = uint64_t{value} + 1;
      table_words_ = segments_ > kMaxSegments ? 1 : (1 + segments_ + 1) / 2 * 2;
      message_bytes_ = segments_ > kMaxSegments ? kUnreadable : 0;
    } else if (table_position_ <= segments_) {
      message_bytes_ += uint64_t{value} * 8;
    }
    if (++table_position_ < table_words_) continue;
    hold = hold || (message_bytes_ > closed_limit_bytes_ && message_bytes_ <= open_limit_bytes_);
    table_position_ = 0;
    body_left_ = message_bytes_ == kUnreadable ? 0 : message_bytes_;
  }
  return hold;
}

kj::Promise<size_t> FrameSizeGate::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  auto read = inner_->tryRead(buffer, min_bytes, max_bytes)
                  .then([this, buffer](size_t n) -> kj::Promise<size_t> {
                    if (n > 0) on_received_();
                    bool hold = Follow(static_cast<const kj::byte*>(buffer), n);
                    if (open_ || !hold) return n;
                    return opened_.addBranch().then([n] { return n; });
                  });
  return read.exclusiveJoin(failed_.addBranch().then([]() -> size_t { KJ_UNREACHABLE; }));
}

kj::Promise<void> FrameSizeGate::write(const void* buffer, size_t size) {
  return inner_->write(buffer, size);
}

kj::Promise<void> FrameSizeGate::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  return inner_->write(pieces);
}

kj::Promise<void> FrameSizeGate::whenWriteDisconnected() { return inner_->whenWriteDisconnected(); }
void FrameSizeGate::shutdownWrite() { inner_->shutdownWrite(); }
void FrameSizeGate::abortRead() { inner_->abortRead(); }

void FrameSizeGate::getsockopt(int level, int option, void* value, kj::uint* length) {
  inner_->getsockopt(level, option, value, length);
}
void FrameSizeGate::setsockopt(int level, int option, const void* value, kj::uint length) {
  inner_->setsockopt(level, option, value, length);
}
void FrameSizeGate::getsockname(struct sockaddr* addr, kj::uint* length) {
  inner_->getsockname(addr, length);
}
void FrameSizeGate::getpeername(struct sockaddr* addr, kj::uint* length) {
  inner_->getpeername(addr, length);
}

}  // namespace rexec
