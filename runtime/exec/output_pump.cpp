#include "runtime/exec/output_pump.h"

#include <cerrno>

#include "core/fd_io.h"

namespace rexec {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

kj::ForkedPromise<void> Requested(kj::Own<kj::PromiseFulfiller<void>>& fulfiller) {
  auto paf = kj::newPromiseAndFulfiller<void>();
  fulfiller = kj::mv(paf.fulfiller);
  return paf.promise.fork();
}

}  // namespace

OutputPump::OutputPump(ChildProcess& child, JobIo& io, uint64_t limit_bytes, Pipes pipes)
    : child_(child), io_(io), limit_bytes_(limit_bytes), finish_requested_(Requested(finish_)) {
  auto pumps = kj::heapArrayBuilder<kj::Promise<void>>(2);
  for (OutputKind kind : {OutputKind::kStdout, OutputKind::kStderr}) {
    pumps.add(pipes == Pipes::kEmpty ? AwaitOutput(kind) : Pump(kind));
  }
  pumping_ = kj::joinPromises(pumps.finish()).eagerlyEvaluate(nullptr);
}

kj::Promise<void> OutputPump::Finish(Pipes left) {
  finishing_ = true;
  left_in_pipes_ = left == Pipes::kMayHoldOutput;
  finish_->fulfill();
  return kj::mv(pumping_);
}

kj::Promise<void> OutputPump::Pump(OutputKind kind) {
  // Every read so far has been delivered; with empty pipes at the finish, that was all.
  if (finishing_ && !left_in_pipes_) return kj::READY_NOW;
  ChildOutput& from = child_.output(kind);
  // Read into one scratch buffer and copy out only what came: most jobs write a few bytes.
  static thread_local kj::byte scratch[kChunkBytes];
  const ssize_t n = ReadSome(from.fd, scratch, sizeof scratch);

  if (n > 0) {
    size_t size = static_cast<size_t>(n);
    if (limit_bytes_ != 0 && written_bytes_ + size > limit_bytes_) {
      size = limit_bytes_ - written_bytes_;
      limit_hit_ = true;
      child_.Kill();
    }
    written_bytes_ += size;
    kj::Promise<void> written = kj::READY_NOW;
    if (size > 0) written = io_.Write(kind, kj::heapArray<kj::byte>(scratch, size));
    if (limit_hit_) return written;
    return written.then([this, kind] { return Pump(kind); });
  }
  // End of the stream (every writer closed it) or an error: nothing more will come.
  if (n == 0 || errno != EAGAIN) return kj::READY_NOW;
  // Empty for now: everything written so far was delivered.
  if (finishing_) return kj::READY_NOW;
  return AwaitOutput(kind);
}

kj::Promise<void> OutputPump::AwaitOutput(OutputKind kind) {
  return child_.output(kind)
      .observer.whenBecomesReadable()
      .exclusiveJoin(finish_requested_.addBranch())
      .then([this, kind] { return Pump(kind); });
}

}  // namespace rexec
