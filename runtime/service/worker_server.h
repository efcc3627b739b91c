// A worker's whole server on one kj event loop: stores, code cache, and its front doors (a
// listener for Cap'n Proto connections, a Redis queue, or both).
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

  // The bound address ("127.0.0.1:40123"); empty for a worker that only serves a queue.
  const std::string& address() const;
  int port() const;
  // What guards the listener, for the operator: "TLS, client certificate and token required",
  // "none (loopback only)", ...
  const std::string& protection() const;
  // Where it serves Prometheus metrics ("127.0.0.1:9100"); empty for nowhere.
  std::string metrics_address() const;
  // Which queue it serves ("queue 'rexec' at redis://... as host:pid:id"); empty for none.
  std::string QueueDescription() const;

  // Accepts and serves connections; never resolves on its own (cancel it to stop).
  kj::Promise<void> Run();

  struct State;

 private:
  explicit WorkerServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace rexec
