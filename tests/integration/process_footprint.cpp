#include "tests/integration/process_footprint.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/integration/process_tree.h"

namespace rexec::testing {

uint64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

int OpenDescriptors(pid_t pid) {
  std::error_code error;
  std::filesystem::directory_iterator entries("/proc/" + std::to_string(pid) + "/fd", error);
  return error ? -1 : static_cast<int>(std::distance(begin(entries), end(entries)));
}

ProcessFootprint FootprintOf(pid_t pid) {
  return {ResidentBytes(pid), OpenDescriptors(pid), static_cast<int>(ProcessTreeOf(pid).size())};
}

std::ostream& operator<<(std::ostream& out, const ProcessFootprint& footprint) {
  char megabytes[32];
  std::snprintf(megabytes, sizeof megabytes, "%.1f",
                static_cast<double>(footprint.resident_bytes) / (1 << 20));
  return out << "RSS " << megabytes << " MB, " << footprint.open_descriptors << " fds, "
             << footprint.processes << " processes";
}

}  // namespace rexec::testing
