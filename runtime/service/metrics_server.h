// An HTTP endpoint that Prometheus scrapes: GET /metrics, on a kj event loop.
//
//   auto metrics = MetricsServer::Listen(io.provider->getNetwork(), io.provider->getTimer(),
//                                        "127.0.0.1:9100", [&] { return registry.Render(); });
//   if (!metrics.ok()) return metrics.status();
//   tasks.add((*metrics)->Run());   // or join it with the worker's own Run()
//
// GET /metrics (a query string is ignored) answers 200 with the body `render` returns, as
// "text/plain; version=0.0.4"; any other path is 404; /metrics with any other method is 405.
// `render` runs on the event loop's thread, once per scrape.
//
// Listen() binds at once and never waits on the event loop, so it may be called anywhere on the
// loop's thread, inside a promise callback too. That is why HOST must be an IP address or
// "localhost" (taken as 127.0.0.1): resolving a host name would need the loop. An empty HOST
// (":9100") means 127.0.0.1; port 0 lets the system choose (see port()). Unlike the job
// listener, any address is allowed without a token: the page says how busy the worker is, and
// runs nothing.
//
// A client must not be able to hurt the worker through this port, so: at most kMaxConnections
// are open at once (a Prometheus server needs one; more are closed as soon as accepted); a
// request must arrive whole within a few seconds of connecting, and an idle keep-alive
// connection is closed after a few seconds; a connection lives at most a minute whatever it
// does (a client that stops reading cannot hold a slot); request headers are bounded by kj (128
// KiB) and a request body is never read. All of it shares the worker's thread, so the cost of a
// scrape is one Render().
//
// Run() never resolves on its own: cancel it, then destroy the server, to stop.
#pragma once

#include <kj/async-io.h>
#include <kj/timer.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace rexec {

class MetricsServer {
 public:
  static constexpr size_t kMaxConnections = 8;

  static absl::StatusOr<std::unique_ptr<MetricsServer>> Listen(
      kj::Network& network, kj::Timer& timer, const std::string& address,
      std::function<std::string()> render);
  ~MetricsServer();

  // The bound address, with the actual port: "127.0.0.1:9100".
  const std::string& address() const;
  int port() const;

  // Accepts and serves scrapes; never resolves on its own (cancel it to stop).
  kj::Promise<void> Run();

  struct State;

 private:
  explicit MetricsServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace rexec
