// rexec-stats: print a worker's cache and job counters.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "rexec/client.h"
#include "tools/flag_values.h"

namespace {

constexpr char kUsage[] = R"(usage: rexec-stats [--token-file FILE] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]
                   [HOST:PORT]
       rexec-stats --queue URL [--queue-name NAME]

Prints a rexec worker's counters, one "name: value" per line: modules and compiled objects held
(memory and disk), object cache hits and misses, time spent generating and linking code, jobs
run and failed, and what it did for a queue. The worker defaults to $REXEC_WORKER, else
127.0.0.1:7070.

With --queue (default $REXEC_QUEUE when no HOST:PORT is given), prints the counters of every
live worker serving that queue, summed, as each last reported them (every second), with how
many workers that is ("workers: N").

--token-file, --tls-ca, --tls-cert and --tls-key connect to a worker as rexec-send does (see
rexec-send --help).
)";

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1:7070";
  if (const char* worker = std::getenv("REXEC_WORKER"); worker != nullptr) address = worker;
  std::string queue_url;
  bool explicit_worker = false;
  bool explicit_queue = false;
  rexec::ClientOptions options;
  if (const char* queue = std::getenv("REXEC_QUEUE"); queue != nullptr) queue_url = queue;
  if (const char* token = std::getenv("REXEC_TOKEN"); token != nullptr) options.token = token;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value, error;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (rexec::MatchFlag("--token-file", argc, argv, i, value, error)) {
      auto token = error.empty() ? rexec::ReadTokenFile(value)
                                 : absl::StatusOr<std::string>(absl::InvalidArgumentError(error));
      if (!token.ok()) {
        std::cerr << "rexec-stats: " << token.status().message() << "\n";
        return 2;
      }
      options.token = *token;
    } else if (rexec::MatchFlag("--tls-ca", argc, argv, i, value, error) ||
               rexec::MatchFlag("--tls-cert", argc, argv, i, value, error) ||
               rexec::MatchFlag("--tls-key", argc, argv, i, value, error)) {
      if (!error.empty()) {
        std::cerr << "rexec-stats: " << error << "\n";
        return 2;
      }
      std::string_view name = arg.substr(0, arg.find('='));
      (name == "--tls-ca" ? options.tls.ca_file
       : name == "--tls-cert" ? options.tls.certificate_file
                              : options.tls.key_file) = value;
    } else if (rexec::MatchFlag("--queue", argc, argv, i, value, error) ||
               rexec::MatchFlag("--queue-name", argc, argv, i, value, error)) {
      if (!error.empty()) {
        std::cerr << "rexec-stats: " << error << "\n";
        return 2;
      }
      (arg.starts_with("--queue-name") ? options.queue_name : queue_url) = value;
      explicit_queue = true;
    } else if (!arg.starts_with("-")) {
      address = std::string(arg);
      explicit_worker = true;
    } else {
      std::cerr << "rexec-stats: unknown option " << arg << "\n" << kUsage;
      return 2;
    }
  }

  if (explicit_worker && explicit_queue) {
    std::cerr << "rexec-stats: give a worker's HOST:PORT or --queue, not both\n";
    return 2;
  }
  // A worker named on the command line wins over $REXEC_QUEUE.
  const bool through_queue = !queue_url.empty() && !explicit_worker;
  auto client = through_queue ? rexec::Client::ConnectQueue(queue_url, options)
                              : rexec::Client::Connect(address, options);
  if (!client.ok()) {
    std::cerr << "rexec: " << client.status().message() << "\n";
    return 255;
  }
  absl::StatusOr<rexec::WorkerStatistics> stats = (*client)->Stats();
  if (!stats.ok()) {
    std::cerr << "rexec: " << stats.status().message() << "\n";
    return 255;
  }
  const rexec::WorkerStatistics& s = *stats;
  if (through_queue) {
    std::cout << "queue: " << options.queue_name << " at " << queue_url << "\n"
              << "workers: " << s.workers << "\n";
  } else {
    std::cout << "worker: " << address << "\n";
  }
  std::cout
            << "modules: " << s.modules << "\n"
            << "module_bytes: " << s.module_bytes << "\n"
            << "module_disk_bytes: " << s.module_disk_bytes << "\n"
            << "object_cache_hits: " << s.object_cache_hits << "\n"
            << "object_cache_misses: " << s.object_cache_misses << "\n"
            << "object_cache_entries: " << s.object_cache_entries << "\n"
            << "object_cache_bytes: " << s.object_cache_bytes << "\n"
            << "object_disk_bytes: " << s.object_disk_bytes << "\n"
            << "disk_evictions: " << s.disk_evictions << "\n"
            << "corrupt_files_removed: " << s.corrupt_files_removed << "\n"
            << "linked_modules: " << s.linked_modules << "\n"
            << "compile_ms: " << s.compile_us / 1000.0 << "\n"
            << "link_ms: " << s.link_us / 1000.0 << "\n"
            << "jobs_run: " << s.jobs_run << "\n"
            << "jobs_failed: " << s.jobs_failed << "\n"
            << "queue_jobs: " << s.queue_jobs << "\n"
            << "queue_garbage: " << s.queue_garbage << "\n"
            << "queue_expired: " << s.queue_expired << "\n"
            << "queue_reclaimed: " << s.queue_reclaimed << "\n"
            << "queue_dead_lettered: " << s.queue_dead_lettered << "\n"
            << "file_missing_checks: " << s.file_missing_checks << "\n"
            << "file_upload_bytes: " << s.file_upload_bytes << "\n"
            << "files: " << s.files << "\n"
            << "file_bytes: " << s.file_bytes << "\n";
  return 0;
}
