#include "core/event_loop_thread.h"

namespace rexec {

EventLoopThread::EventLoopThread()
    : thread_([this] {
        kj::AsyncIoContext io = kj::setupAsyncIo();
        auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
        {
          auto lock = handshake_.lockExclusive();
          lock->executor = &kj::getCurrentThreadExecutor();
          lock->io = &io;
          lock->stop = kj::mv(stop.fulfiller);
        }
        stop.promise.wait(io.waitScope);
      }) {
  handshake_.when([](const Handshake& h) { return h.executor != nullptr; },
                  [this](Handshake& h) {
                    executor_ = h.executor;
                    io_ = h.io;
                    stop_ = kj::mv(h.stop);
                  });
}

EventLoopThread::~EventLoopThread() noexcept(false) { stop_->fulfill(); }

}  // namespace rexec
