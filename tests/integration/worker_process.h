// A real rexec-worker on 127.0.0.1, on a port the system picks, with a fresh cache directory.
//
//   WorkerProcess worker;
//   ASSERT_TRUE(worker.started()) << worker.log();
//   RunSend({"--worker", worker.address(), ProgramPath("hello.cpp")});
//
// The worker's stdout and stderr go to files in its temporary directory, so a worker that logs a
// lot can never block on a pipe nobody reads. The destructor stops it (SIGTERM, then SIGKILL
// after a few seconds), so every worker a test starts ends with the test, whatever the outcome.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/subprocess.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {

// Another user to run a worker as (the test must run as root to use it).
struct RunAs {
  uid_t uid;
  gid_t gid;
};

class WorkerProcess {
 public:
  // Starts `rexec-worker --listen 127.0.0.1:0 --cache-dir DIR extra_flags...` and waits until it
  // reports its address. On failure started() is false and log() tells why. A non-zero
  // `max_open_files` is its RLIMIT_NOFILE. With `run_as`, the worker runs as that user
  // (through setpriv), with its directory handed over to it.
  explicit WorkerProcess(std::vector<std::string> extra_flags = {}, uint64_t max_open_files = 0,
                         std::optional<RunAs> run_as = std::nullopt);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  bool started() const { return !address_.empty(); }
  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  uint16_t port() const { return port_; }
  pid_t pid() const { return process_->pid(); }
  // With --metrics 127.0.0.1:0: where it serves them; else 0.
  uint16_t metrics_port() const { return metrics_port_; }
  // With --queue: its consumer name in the queue's group (host:pid:id); else empty.
  const std::string& consumer() const { return consumer_; }
  // Its --cache-dir: where uploaded modules and compiled code end up.
  std::filesystem::path cache_dir() const { return dir_.path() / "cache"; }

  // Its counters as rexec-stats prints them ("object_cache_misses" -> "1").
  std::map<std::string, std::string> Stats() const;

  // Its stdout and stderr so far, plus why it failed to start if it did.
  std::string log() const;

  // SIGKILLs the worker now, as if it crashed.
  void Kill();
  // Sends SIGTERM and waits up to `timeout` for it to end (then SIGKILL). Returns how it ended.
  ProcessResult Stop(milliseconds timeout = milliseconds(5000));

 private:
  TempDir dir_;
  std::unique_ptr<Subprocess> process_;
  std::string startup_error_;
  std::string address_;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
  std::string consumer_;
  bool stopped_ = false;
};

}  // namespace rexec::testing
