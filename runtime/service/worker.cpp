// rexec::Worker (include/rexec/worker.h): a WorkerServer on a thread of its own, or on the
// calling thread until a signal.
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/mutex.h>
#include <kj/thread.h>
#include <signal.h>

#include <memory>

#include "rexec/worker.h"
#include "runtime/service/worker_server.h"

namespace rexec {

class Worker::Impl {
 public:
  absl::Status Start(WorkerOptions options) {
    options_ = std::move(options);
    thread_ = std::make_unique<kj::Thread>([this] { ServeOnThisThread(); });
    return startup_.when([](const Startup& s) { return s.done; },
                         [this](Startup& s) {
                           address_ = s.address;
                           port_ = s.port;
                           return s.status;
                         });
  }

  void Stop() {
    if (thread_ == nullptr) return;
    {
      auto lock = startup_.lockExclusive();
      if (lock->stop.get() != nullptr) lock->stop->fulfill();
    }
    thread_ = nullptr;  // joins
  }

  const std::string& address() const { return address_; }
  int port() const { return port_; }

 private:
  struct Startup {
    bool done = false;
    absl::Status status;
    std::string address;
    int port = 0;
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  };

  void ServeOnThisThread() {
    auto io = kj::setupAsyncIo();
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Listen(options_, io);
    {
      auto lock = startup_.lockExclusive();
      lock->done = true;
      lock->status = server.status();
      if (server.ok()) {
        lock->address = (*server)->address();
        lock->port = (*server)->port();
        lock->stop = kj::mv(stop.fulfiller);
      }
    }
    if (!server.ok()) return;
    (*server)->Run().exclusiveJoin(kj::mv(stop.promise)).wait(io.waitScope);
  }

  WorkerOptions options_;
  kj::MutexGuarded<Startup> startup_;
  std::unique_ptr<kj::Thread> thread_;
  std::string address_;
  int port_ = 0;
};

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() { Stop(); }

absl::StatusOr<std::unique_ptr<Worker>> Worker::Start(WorkerOptions options) {
  auto impl = std::make_unique<Impl>();
  if (absl::Status started = impl->Start(std::move(options)); !started.ok()) {
    impl->Stop();
    return started;
  }
  return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

const std::string& Worker::address() const { return impl_->address(); }
int Worker::port() const { return impl_->port(); }
void Worker::Stop() { impl_->Stop(); }

absl::Status ServeUntilSignaled(const WorkerOptions& options,
                                const std::function<void(const WorkerEndpoints&)>& on_serving) {
  kj::UnixEventPort::captureSignal(SIGINT);
  kj::UnixEventPort::captureSignal(SIGTERM);
  auto io = kj::setupAsyncIo();
  absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Listen(options, io);
  if (!server.ok()) return server.status();
  on_serving({(*server)->address(), (*server)->protection(), (*server)->QueueDescription(),
              (*server)->metrics_address()});
  auto signaled = io.unixEventPort.onSignal(SIGINT)
                      .exclusiveJoin(io.unixEventPort.onSignal(SIGTERM))
                      .ignoreResult();
  (*server)->Run().exclusiveJoin(kj::mv(signaled)).wait(io.waitScope);
  return absl::OkStatus();
}

}  // namespace rexec
