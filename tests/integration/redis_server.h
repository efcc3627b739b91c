// A private redis-server for one test: loopback only, on a port the system had free, persistence
// off, its files in a temporary directory. The destructor stops it, so it ends with the test.
//
//   RedisServer redis;
//   ASSERT_TRUE(redis.started()) << redis.log();
//   WorkerProcess worker({"--queue", redis.url()});
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/integration/subprocess.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool started() const { return ready_; }
  uint16_t port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT
  std::string log() const;

  // Runs redis-cli against it and returns what it printed (for tests that inspect the queue).
  std::string Cli(const std::vector<std::string>& args) const;

  // SIGKILL, as if it crashed; with persistence off, everything it held is gone.
  void Kill();
  // Starts it again on the same port, empty. Returns whether it is ready.
  bool Restart();

 private:
  bool Start();

  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Subprocess> process_;
  bool ready_ = false;
  int starts_ = 0;
};

}  // namespace rexec::testing
