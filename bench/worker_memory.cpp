// Resident memory of a worker holding 1, 100 and 1000 distinct modules: each is compiled here,
// uploaded, and run once (so it is compiled and linked on the worker). Each linked module is a
// template process, so the worker's helper processes are counted too: their anonymous memory
// (RssAnon), which shared library pages would otherwise count once per process.
//
//   worker_memory HOST:PORT WORKER_PID
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "rexec/client.h"
#include "tests/integration/process_tree.h"
#include "tests/support/temp_dir.h"

namespace {

// A field of /proc/PID/status in KiB ("VmRSS"), -1 if absent.
long StatusKiB(const std::string& pid, const std::string& field) {
  std::ifstream status("/proc/" + pid + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

long ResidentKiB(const std::string& pid) { return StatusKiB(pid, "VmRSS"); }

// "N processes, M MiB": the worker's helpers and their anonymous memory.
std::string Helpers(const std::string& worker) {
  long anonymous = 0;
  size_t helpers = 0;
  for (pid_t pid : rexec::testing::ProcessTreeOf(std::stoi(worker))) {
    if (std::to_string(pid) == worker) continue;
    ++helpers;
    anonymous += std::max(0L, StatusKiB(std::to_string(pid), "RssAnon"));
  }
  return std::to_string(helpers) + " processes, " + std::to_string(anonymous / 1024) + " MiB";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: worker_memory HOST:PORT WORKER_PID\n");
    return 2;
  }
  rexec::ClientOptions options;
  options.bitcode_cache_dir = "-";
  auto client = rexec::Client::Connect(argv[1], options);
  if (!client.ok()) return 1;
  rexec::testing::TempDir dir;
  // Each VALUE makes different bitcode, so every module is distinct for the worker.
  std::string source =
      dir.Write("m.c", "volatile int value = VALUE;\nint main(void) { return value & 1; }\n");
  std::printf("| modules cached | worker RSS | linked (max 64 by default) | helper processes, "
              "anonymous memory |\n|---|---|---|---|\n");
  std::printf("| 0 | %ld MiB | 0 | %s |\n", ResidentKiB(argv[2]) / 1024,
              Helpers(argv[2]).c_str());
  int made = 0;
  for (int target : {1, 100, 1000}) {
    for (; made < target; ++made) {
      auto module = (*client)->Compile({source}, {"-DVALUE=" + std::to_string(made)});
      if (!module.ok()) return 1;
      auto report = (*client)->RunProgram(*module, {}, {-1, -1, -1});
      if (!report.ok()) return 1;
    }
    auto stats = (*client)->Stats();
    std::printf("| %d | %ld MiB | %llu | %s |\n", target, ResidentKiB(argv[2]) / 1024,
                stats.ok() ? static_cast<unsigned long long>(stats->linked_modules) : 0ull,
                Helpers(argv[2]).c_str());
  }
  return 0;
}
