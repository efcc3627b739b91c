// rexec::Worker: a rexec worker service, embeddable in any program.
//
// A worker accepts Cap'n Proto RPC connections, stores uploaded bitcode modules by content hash,
// JIT-compiles them with LLVM ORC (machine code cached in memory and on disk) and runs jobs in
// child processes, so user code never runs in the worker's own process.
//
//   auto worker = rexec::Worker::Start({.listen_address = "127.0.0.1:0"});
//   if (!worker.ok()) ...;
//   std::string address = (*worker)->address();   // "127.0.0.1:40123"
//   ...                                            // serve until destroyed or Stop()
//
// By default a worker listens on 127.0.0.1 only, in plain TCP. Listening on any other address
// requires a token, which clients present when they connect, or TLS with client certificates
// (rexec/tls_options.h), or both.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rexec/tls_options.h"

namespace rexec {

struct WorkerOptions {
  // HOST:PORT; port 0 lets the system choose. Anything but loopback needs `token` or client
  // certificates (`tls.ca_file`). Empty: no listener (a worker that only serves a queue).
  std::string listen_address = "127.0.0.1:0";
  std::string token;
  // TLS on the listener: on with a certificate and key; client certificates required with a CA.
  // The queue and the metrics listener are not TLS.
  TlsOptions tls;
  // HOST:PORT serving Prometheus metrics at /metrics (an IP address or localhost; port 0 lets the
  // system choose); empty: none.
  std::string metrics_address;

  // Where modules and compiled objects are kept across restarts. Empty: $XDG_CACHE_HOME/rexec
  // (or ~/.cache/rexec). "-" disables the disk cache. A directory that cannot be created or
  // written is an error at start.
  std::string cache_dir;
  // A quarter for bitcode, the rest for objects; least recently used entries go first. 0:
  // unbounded.
  uint64_t max_disk_cache_bytes = 2ull << 30;
  uint64_t max_memory_cache_bytes = 512ull << 20;
  size_t max_linked_modules = 64;  // each one a module template process

  // Bounds on what clients may send. A bigger upload is refused.
  uint64_t max_module_bytes = 64ull << 20;
  uint64_t max_state_bytes = 16ull << 20;
  // Jobs' files (rexec-send --input, --output): a job's inputs in all, and so each one; the
  // outputs returned to one job; what the worker keeps of uploaded inputs on disk (in
  // `cache_dir`/files, or a temporary directory without a disk cache; least recently used first).
  uint64_t max_input_bytes = 1ull << 30;
  uint64_t max_output_file_bytes = 64ull << 20;
  uint64_t max_file_store_bytes = 4ull << 30;

  // Job limits are maxima: a job asking for more, or for nothing (0), gets the maximum; one
  // asking for less gets what it asked. Wall time also has a default for jobs that ask for none
  // (0 = none; a default above the maximum is the maximum). 0 = no maximum.
  uint32_t default_wall_time_ms = 0;
  uint32_t max_wall_time_ms = 0;
  uint64_t max_memory_bytes = 0;
  uint64_t max_output_bytes = 1ull << 30;
  uint64_t max_buffered_output_bytes = 16ull << 20;  // output returned in a result, not streamed

  // Connections to the listener: at most `max_connections` at once (fewer when the file
  // descriptor limit leaves less room). When full, a new connection closes the one idle longest
  // (one not logged in first); when every one has a call in flight, the new one is refused with a
  // reason. A connection must log in within `login_timeout_ms`, sending only small messages until
  // it has; one with no call in flight that sends nothing for `idle_timeout_ms` is closed (0:
  // never). A failed login is logged, and slows the next ones from the same address.
  size_t max_connections = 256;
  uint32_t login_timeout_ms = 10'000;
  uint32_t idle_timeout_ms = 300'000;

  // Jobs running at once, per connection and over the whole worker (0: 4 per CPU), the queue's
  // jobs included. More wait, connections taking turns; the wait counts against a job's time
  // limit.
  size_t max_jobs_per_connection = 16;
  size_t max_jobs = 0;

  // Warm processes that run one module's command jobs; 0: one per CPU.
  size_t executors_per_module = 0;

  // Queue mode: also take jobs from a Redis Stream that any number of workers share
  // (redis://[[user]:password@]host[:port][/db]; empty: no queue). A job is acknowledged only
  // once its result is published; a worker that stops heart-beating for
  // `queue_visibility_timeout_ms` has its jobs taken over by another, and a job delivered
  // `queue_max_deliveries` times without an answer goes to the dead-letter stream.
  std::string queue_url;
  std::string queue_name = "rexec";
  uint32_t queue_visibility_timeout_ms = 30'000;
  uint32_t queue_max_deliveries = 3;
  uint32_t queue_prefetch = 0;  // jobs taken at once; 0: 8 per CPU
  uint64_t max_stdin_bytes = 16ull << 20;  // a queued program's whole stdin

  // Every job runs in a sandbox (namespaces, seccomp, limits; see rexec-worker --help). Off, jobs
  // run as the worker's user with its files and network: only for code you trust. Where the
  // kernel cannot sandbox, the worker says so on stderr and serves loopback only.
  bool sandbox = true;
  uint64_t job_scratch_bytes = 256ull << 20;  // each job's /work and /tmp, each

  bool verbose = false;  // log each job to stderr
};

// The default cache directory ($XDG_CACHE_HOME/rexec or ~/.cache/rexec).
std::string DefaultCacheDirectory();

class Worker {
 public:
  // Starts serving on a thread of its own; returns once the listener is bound.
  static absl::StatusOr<std::unique_ptr<Worker>> Start(WorkerOptions options);
  ~Worker();  // Stop()

  // The bound address, with the actual port: "127.0.0.1:40123".
  const std::string& address() const;
  int port() const;

  // Stops accepting, ends open connections and kills running jobs. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where a serving worker can be reached; an empty field is a door it does not have.
struct WorkerEndpoints {
  std::string address;  // the bound job listener ("127.0.0.1:40123")
  // What guards that listener: "TLS, client certificate and token required", "plain TCP, token
  // required", "none (loopback only)", ...
  std::string protection;
  std::string queue;    // "queue 'rexec' at redis://... as host:pid:id"
  std::string metrics;  // the bound metrics listener
};

// Serves on the calling thread until SIGINT or SIGTERM (what `rexec-worker` runs). Must be called
// before the process starts any thread. Once serving, `on_serving` learns where.
absl::Status ServeUntilSignaled(const WorkerOptions& options,
                                const std::function<void(const WorkerEndpoints&)>& on_serving);

}  // namespace rexec
