// A thread running its own kj event loop with async I/O, driven from other threads.
//
//   EventLoopThread thread;
//   int n = thread.executor().executeSync([&] { return WorkOnTheLoop(thread.io()); });
//
// The worker uses one for code generation and linking, which must not stall its RPC loop; a
// Client uses one for its connection, so its synchronous API can be called from any thread.
// io() belongs to the loop's thread: touch it only from functions run by the executor.
#pragma once

#include <kj/async-io.h>
#include <kj/mutex.h>
#include <kj/thread.h>

namespace rexec {

class EventLoopThread {
 public:
  EventLoopThread();
  ~EventLoopThread() noexcept(false);  // stops the loop, cancelling what runs on it, and joins

  const kj::Executor& executor() const { return *executor_; }
  kj::AsyncIoContext& io() { return *io_; }

 private:
  struct Handshake {
    const kj::Executor* executor = nullptr;
    kj::AsyncIoContext* io = nullptr;
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  };
  kj::MutexGuarded<Handshake> handshake_;
  const kj::Executor* executor_ = nullptr;
  kj::AsyncIoContext* io_ = nullptr;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
  kj::Thread thread_;
};

}  // namespace rexec
