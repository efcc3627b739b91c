// Resident memory of a worker holding 1, 100 and 1000 distinct modules: each is compiled here,
// uploaded, and run once (so it is compiled and linked on the worker).
//
//   worker_memory HOST:PORT WORKER_PID
#include <cstdio>
#include <fstream>
#include <string>

#include "rexec/client.h"
#include "tests/support/temp_dir.h"

namespace {

long ResidentKiB(const std::string& pid) {
  std::ifstream status("/proc/" + pid + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
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
  std::printf("| modules cached | worker RSS | linked (max 256 by default) |\n|---|---|---|\n");
  std::printf("| 0 | %ld MiB | 0 |\n", ResidentKiB(argv[2]) / 1024);
  int made = 0;
  for (int target : {1, 100, 1000}) {
    for (; made < target; ++made) {
      auto module = (*client)->Compile({source}, {"-DVALUE=" + std::to_string(made)});
      if (!module.ok()) return 1;
      auto report = (*client)->RunProgram(*module, {}, {-1, -1, -1});
      if (!report.ok()) return 1;
    }
    auto stats = (*client)->Stats();
    std::printf("| %d | %ld MiB | %llu |\n", target, ResidentKiB(argv[2]) / 1024,
                stats.ok() ? static_cast<unsigned long long>(stats->linked_modules) : 0ull);
  }
  return 0;
}
