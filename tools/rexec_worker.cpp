// rexec-worker: serve rexec jobs on a port.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <iostream>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "rexec/build_config.h"
#include "rexec/worker.h"
#include "schema/rexec.capnp.h"
#include "tools/flag_values.h"

namespace {

constexpr char kUsage[] = R"(usage: rexec-worker [options]

Serves rexec jobs: receives LLVM bitcode from rexec-send or the rexec C++ API, JIT-compiles it
(machine code cached in memory and on disk) and runs each job in a fresh process. Bitcode is
compiled by rexec-compile-server and linked by rexec-module-template, one process per linked
module from which its jobs are forked (never from the worker itself): helpers found next to this
binary, in <prefix>/libexec/rexec or in $REXEC_HELPER_DIR. A module that crashes LLVM fails its
own job.

options:
  --listen HOST:PORT      where to listen (default 127.0.0.1:7070, or none with --queue; port 0
                          picks a free one). Any host but loopback requires --token-file or
                          --tls-client-ca (or both).
  --token-file FILE       clients must present the token in FILE
  --tls-cert FILE         serve TLS on --listen with this certificate (PEM, leaf first) and
  --tls-key FILE          its unencrypted private key; clients connect with --tls-ca
  --tls-client-ca FILE    with TLS: require client certificates signed by a CA in FILE
                          TLS covers --listen only: the --queue connection to Redis and the
                          --metrics listener stay plain, as they are.
  --cache-dir DIR         keep modules and compiled code here (default $XDG_CACHE_HOME/rexec,
                          else ~/.cache/rexec); a directory that cannot be created or written
                          stops the worker at start. Entries carry a MAC keyed by a secret
                          made at first start (DIR/modules/secret, DIR/objects/secret, mode
                          0600): a file written there without it is deleted and rebuilt,
                          never run.
  --no-disk-cache         keep the caches in memory only
  --cache-max-bytes BYTES bound the disk cache; least recently used entries go first
                          (default 2G; 0: unbounded)
  --memory-cache BYTES    memory for cached modules and objects (default 512M)
  --max-linked N          modules kept linked and ready to run, each in a template process of
                          ~8 MB (default 64); others are relinked from the object cache when
                          used again
  --max-module BYTES      largest module a client may upload (default 64M)
  --timeout SECONDS       wall-time limit for jobs that ask for none (default: none)
  --max-timeout SECONDS   no job may run longer (default: no maximum)
  --memory BYTES          most memory (address space) one job may map: a job asking for more,
                          or for none, gets this (default: no limit)
  --max-output BYTES      most output one job may write: a job asking for more, or for none,
                          gets this (default 1G)
  --max-input BYTES       most input files one job may bring, in all (default 1G)
  --max-output-files BYTES
                          most output files one job may fetch back, in all (default 64M)
  --file-store-max BYTES  disk for uploaded input files, kept by content hash in DIR/files
                          (a temporary directory with --no-disk-cache) and emptied at start;
                          least recently used first (default 4G; 0: unbounded)

clients (what one client can hold of the worker):
  --max-connections N     connections at once (default 256, fewer if the file descriptor limit
                          leaves less room). When full, a new connection closes the one idle
                          longest (one not logged in first); when all run jobs, it is refused
                          with a reason.
  --login-timeout SECONDS a connection must log in within this (default 10); until it has, it
                          may send only small messages (64K)
  --idle-timeout SECONDS  close a connection with no call in flight that sent nothing for this
                          long (default 300; 0: never)
  --max-jobs N            jobs running at once on this worker (default 4 per CPU)
  --max-jobs-per-connection N
                          jobs running at once per connection (default 16). Jobs beyond either
                          bound wait, connections taking turns; waiting counts against a job's
                          time limit.
  Failed logins are logged (peer address, never the token) and slow down further attempts from
  the same address: 0.1 s after the first, doubling up to 2 s.

  --metrics HOST:PORT     serve Prometheus metrics at http://HOST:PORT/metrics (jobs by
                          outcome, compile and run times, caches, executors, queue lag)
  -v, --verbose           log to stderr

the sandbox (on by default; every program run and every command executor is inside it):
  --sandbox on|off        off runs jobs as this worker's user with its files, processes and
                          network, and says so loudly: only for code you trust. Where the
                          kernel cannot sandbox, the worker says so and serves loopback only.
  --job-disk BYTES        size of a job's /work and of its /tmp, each (default 256M)
  A job runs as uid/gid 1000 in its own user namespace, mapped outside to this worker's user
  (to nobody when the worker runs as root); it holds no capabilities and cannot gain any.
  It can see: /usr, /bin, /lib, /lib64, /sbin (read-only); from /etc only ld.so.cache,
  passwd, group, nsswitch.conf, hosts, localtime (read-only); /dev/null, zero, full, random,
  urandom; /proc of its own processes; a private writable /work (its working directory),
  /tmp and /dev/shm, each dropped when the job ends.
  It cannot see or reach: the worker's cache, home directories, any other file of the host,
  other processes (its own pid namespace: when the job ends, every process it started is
  killed), the network (an empty network namespace; sockets other than AF_UNIX are refused),
  SysV IPC of others, the host name.
  Refused system calls: ptrace, process_vm_*, mount and friends, chroot, setns, unshare,
  namespace flags to clone, bpf, perf_event_open, kexec, module loading, reboot, swap, keyctl,
  userfaultfd, io_uring; system calls of another ABI (x32, i386) kill the job.
  Limits: 512 processes and threads (shared by all jobs), 1024 open files, files up to 1G,
  no core dumps; plus --timeout, --memory and --max-output.

queue mode (many workers share one Redis Stream; see docs/scaling.md):
  --queue URL             also take jobs from Redis (redis://[[user]:password@]host[:port][/db];
                          default $REXEC_QUEUE). Without --listen, serves the queue only.
  --queue-name NAME       which queue (default rexec); other names are other queues
  --visibility-timeout SECONDS
                          a worker silent this long loses its jobs to others (default 30)
  --max-deliveries N      a job delivered N times without an answer is dead-lettered (default 3)
  --prefetch N            jobs taken from the queue at once (default 8 per CPU)
  --help                  this text
  --version               versions of rexec, LLVM and the protocol

Sizes take K, M or G suffixes. Once serving, the worker prints on stdout:
  rexec-worker listening on 127.0.0.1:7070
  rexec-worker protection: TLS, client certificate and token required
  rexec-worker serving queue 'rexec' at redis://127.0.0.1:6379 as HOST:PID:ID
  rexec-worker metrics at http://127.0.0.1:9100/metrics
SIGINT or SIGTERM stops the worker.
)";

int UsageError(const std::string& message) {
  std::cerr << "rexec-worker: " << message << "\n(see rexec-worker --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  rexec::WorkerOptions options;
  std::optional<std::string> listen;
  if (const char* queue = std::getenv("REXEC_QUEUE"); queue != nullptr) options.queue_url = queue;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value, error;
    auto flag = [&](std::string_view name) {
      return rexec::MatchFlag(name, argc, argv, i, value, error);
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--version") {
      std::cout << "rexec-worker " << rexec::kRexecVersion << "\nLLVM " << rexec::kLlvmVersion
                << "\nprotocol " << rexec::wire::PROTOCOL_VERSION << "\n";
      return 0;
    } else if (arg == "-v" || arg == "--verbose") {
      options.verbose = true;
    } else if (arg == "--no-disk-cache") {
      options.cache_dir = "-";
    } else if (flag("--listen")) {
      listen = value;
    } else if (flag("--metrics")) {
      options.metrics_address = value;
    } else if (flag("--queue")) {
      options.queue_url = value;
    } else if (flag("--queue-name")) {
      options.queue_name = value;
    } else if (flag("--visibility-timeout")) {
      if (!error.empty()) return UsageError(error);
      auto ms = rexec::ParseSecondsAsMilliseconds(value);
      if (!ms.ok()) return UsageError(std::string(ms.status().message()));
      options.queue_visibility_timeout_ms = *ms;
    } else if (flag("--max-connections") || flag("--max-jobs") ||
               flag("--max-jobs-per-connection")) {
      if (!error.empty()) return UsageError(error);
      uint32_t count = 0;
      std::string_view name = arg.substr(0, arg.find('='));
      if (!absl::SimpleAtoi(value, &count) || count == 0) {
        return UsageError(std::string(name) + " needs a positive number");
      }
      if (name == "--max-connections") options.max_connections = count;
      if (name == "--max-jobs") options.max_jobs = count;
      if (name == "--max-jobs-per-connection") options.max_jobs_per_connection = count;
    } else if (flag("--login-timeout") || flag("--idle-timeout")) {
      if (!error.empty()) return UsageError(error);
      auto ms = rexec::ParseSecondsAsMilliseconds(value);
      if (!ms.ok()) return UsageError(std::string(ms.status().message()));
      if (arg.starts_with("--login-timeout") && *ms == 0) {
        return UsageError("--login-timeout needs a positive number of seconds");
      }
      (arg.starts_with("--login-timeout") ? options.login_timeout_ms : options.idle_timeout_ms) =
          *ms;
    } else if (flag("--max-deliveries") || flag("--prefetch")) {
      if (!error.empty()) return UsageError(error);
      uint32_t count = 0;
      if (!absl::SimpleAtoi(value, &count) || count == 0) {
        return UsageError(std::string(arg.substr(0, arg.find('='))) + " needs a positive number");
      }
      (arg.starts_with("--max-deliveries") ? options.queue_max_deliveries
                                           : options.queue_prefetch) = count;
    } else if (flag("--sandbox")) {
      if (value != "on" && value != "off") return UsageError("--sandbox takes on or off");
      options.sandbox = value == "on";
    } else if (flag("--tls-cert")) {
      options.tls.certificate_file = value;
    } else if (flag("--tls-key")) {
      options.tls.key_file = value;
    } else if (flag("--tls-client-ca")) {
      options.tls.ca_file = value;
    } else if (flag("--token-file")) {
      if (error.empty()) {
        auto token = rexec::ReadTokenFile(value);
        if (!token.ok()) return UsageError(std::string(token.status().message()));
        options.token = *token;
      }
    } else if (flag("--cache-dir")) {
      options.cache_dir = value;
    } else if (flag("--max-linked")) {
      if (!error.empty()) return UsageError(error);
      uint64_t count = 0;
      if (!absl::SimpleAtoi(value, &count) || count == 0) {
        return UsageError("--max-linked needs a positive number");
      }
      options.max_linked_modules = count;
    } else if (flag("--memory-cache") || flag("--max-module") || flag("--memory") ||
               flag("--max-output") || flag("--cache-max-bytes") || flag("--job-disk") ||
               flag("--max-input") || flag("--max-output-files") || flag("--file-store-max")) {
      if (!error.empty()) return UsageError(error);
      auto bytes = rexec::ParseByteSize(value);
      if (!bytes.ok()) return UsageError(std::string(bytes.status().message()));
      std::string_view name = arg.substr(0, arg.find('='));
      if (name == "--memory-cache") options.max_memory_cache_bytes = *bytes;
      if (name == "--job-disk") options.job_scratch_bytes = *bytes;
      if (name == "--cache-max-bytes") options.max_disk_cache_bytes = *bytes;
      if (name == "--max-module") options.max_module_bytes = *bytes;
      if (name == "--memory") options.max_memory_bytes = *bytes;
      if (name == "--max-output") options.max_output_bytes = *bytes;
      if (name == "--max-input") options.max_input_bytes = *bytes;
      if (name == "--max-output-files") options.max_output_file_bytes = *bytes;
      if (name == "--file-store-max") options.max_file_store_bytes = *bytes;
    } else if (flag("--timeout") || flag("--max-timeout")) {
      if (!error.empty()) return UsageError(error);
      auto ms = rexec::ParseSecondsAsMilliseconds(value);
      if (!ms.ok()) return UsageError(std::string(ms.status().message()));
      (arg.substr(0, arg.find('=')) == "--timeout" ? options.default_wall_time_ms
                                                   : options.max_wall_time_ms) = *ms;
    } else {
      return UsageError("unknown option " + std::string(arg));
    }
    if (!error.empty()) return UsageError(error);
  }

  // A queue worker listens only when asked to; otherwise a worker listens on the usual port.
  options.listen_address = listen.value_or(options.queue_url.empty() ? "127.0.0.1:7070" : "");
  absl::Status served = rexec::ServeUntilSignaled(
      options, [](const rexec::WorkerEndpoints& serving) {
        if (!serving.address.empty()) {
          std::printf("rexec-worker listening on %s\n", serving.address.c_str());
          std::printf("rexec-worker protection: %s\n", serving.protection.c_str());
        }
        if (!serving.queue.empty()) std::printf("rexec-worker serving %s\n", serving.queue.c_str());
        if (!serving.metrics.empty()) {
          std::printf("rexec-worker metrics at http://%s/metrics\n", serving.metrics.c_str());
        }
        std::fflush(stdout);
      });
  if (!served.ok()) {
    std::cerr << "rexec-worker: " << served.message() << "\n";
    return 1;
  }
  return 0;
}
