// rexec-stats: print a worker's cache and job counters.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "rexec/client.h"
#include "tools/flag_values.h"

namespace {

constexpr char kUsage[] = R"(usage: rexec-stats [--token-file FILE] [HOST:PORT]

Prints a rexec worker's counters, one "name: value" per line: modules and compiled objects held
(memory and disk), object cache hits and misses, time spent generating and linking code, jobs
run and failed. The worker defaults to $REXEC_WORKER, else 127.0.0.1:7070.
)";

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1:7070";
  if (const char* worker = std::getenv("REXEC_WORKER"); worker != nullptr) address = worker;
  rexec::ClientOptions options;
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
    } else if (!arg.starts_with("-")) {
      address = std::string(arg);
    } else {
      std::cerr << "rexec-stats: unknown option " << arg << "\n" << kUsage;
      return 2;
    }
  }

  auto client = rexec::Client::Connect(address, options);
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
  std::cout << "worker: " << address << "\n"
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
            << "queue_dead_lettered: " << s.queue_dead_lettered << "\n";
  return 0;
}
