#include "tests/integration/process_tree.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace rexec::testing {
namespace {

struct ProcessInfo {
  pid_t parent = 0;
  pid_t innermost_pid = 0;  // the last NSpid field
  int namespace_depth = 0;  // how many NSpid fields
  bool zombie = false;
};

std::map<pid_t, ProcessInfo> ReadProcessTable() {
  std::map<pid_t, ProcessInfo> table;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    ProcessInfo info;
    bool seen = false;
    for (std::string line; std::getline(status, line);) {
      std::istringstream fields(line);
      std::string key;
      fields >> key;
      if (key == "PPid:") {
        fields >> info.parent;
        seen = true;
      } else if (key == "NSpid:") {
        for (pid_t pid; fields >> pid; ++info.namespace_depth) info.innermost_pid = pid;
      } else if (key == "State:") {
        std::string state;
        fields >> state;
        info.zombie = state == "Z";
      }
    }
    if (seen) table[std::stoi(name)] = info;
  }
  return table;
}

bool Descends(const std::map<pid_t, ProcessInfo>& table, pid_t pid, pid_t ancestor) {
  for (int depth = 0; depth < 64; ++depth) {
    auto it = table.find(pid);
    if (it == table.end() || it->second.parent <= 1) return false;
    if (it->second.parent == ancestor) return true;
    pid = it->second.parent;
  }
  return false;
}

}  // namespace

std::vector<pid_t> DescendantsOf(pid_t ancestor) {
  std::map<pid_t, ProcessInfo> table = ReadProcessTable();
  std::vector<pid_t> descendants;
  for (const auto& [pid, info] : table) {
    if (!info.zombie && Descends(table, pid, ancestor)) descendants.push_back(pid);
  }
  return descendants;
}

std::vector<pid_t> SandboxedDescendantsOf(pid_t ancestor) {
  std::map<pid_t, ProcessInfo> table = ReadProcessTable();
  std::vector<pid_t> sandboxed;
  for (const auto& [pid, info] : table) {
    if (!info.zombie && info.namespace_depth > 1 && Descends(table, pid, ancestor)) {
      sandboxed.push_back(pid);
    }
  }
  return sandboxed;
}

pid_t HostPidOf(pid_t ancestor, pid_t reported) {
  std::map<pid_t, ProcessInfo> table = ReadProcessTable();
  for (const auto& [pid, info] : table) {
    if (info.innermost_pid == reported && Descends(table, pid, ancestor)) return pid;
  }
  return 0;
}

bool ProcessIsAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string id, name, state;
  return static_cast<bool>(stat >> id >> name >> state) && state != "Z";
}

}  // namespace rexec::testing
