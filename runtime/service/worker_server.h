// A worker's whole server on one kj event loop: stores, code cache, listener, connections.
#pragma once

#include <kj/async-io.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rexec/worker.h"

namespace rexec {

class WorkerServer {
 public:
  // Checks the options and binds the listener; nothing is accepted until Run().
  static absl::StatusOr<std::unique_ptr<WorkerServer>> Listen(const WorkerOptions& options,
                                                              kj::AsyncIoContext& io);
  ~WorkerServer();

  const std::string& address() const;
  int port() const;

  // Accepts and serves connections; never resolves on its own (cancel it to stop).
  kj::Promise<void> Run();

  struct State;

 private:
  explicit WorkerServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace rexec
