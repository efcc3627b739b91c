#include "tests/integration/process_tree.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace rexec::testing {
namespace {

struct ProcessInfo {
  pid_t parent = 0;
  pid_t innermost_pid = 0;  // the last NSpid field
  int namespace_depth = 0;  // how many NSpid fields
  bool zombie = false;
  std::string pid_namespace;  // "pid:[4026531836]"
  std::string name;           // comm, at most 15 characters
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
    std::error_code error;
    info.pid_namespace = std::filesystem::read_symlink(entry.path() / "ns" / "pid", error);
    std::ifstream(entry.path() / "comm") >> info.name;
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

// The processes of the worker's jobs in `table`: in a pid namespace below the host's, and not in
// the compile server's (which is sandboxed too) or in that of a job a module template started
// ahead of its launch, whose process waits under the name "rexec-ready" (exec/template_server.h).
std::set<pid_t> JobProcesses(const std::map<pid_t, ProcessInfo>& table) {
  std::set<std::string> other_namespaces;
  for (const auto& [pid, info] : table) {
    if (info.name == "rexec-compile-s" || info.name == "rexec-ready") {
      other_namespaces.insert(info.pid_namespace);
    }
  }
  std::set<pid_t> jobs;
  for (const auto& [pid, info] : table) {
    if (!info.zombie && info.namespace_depth > 1 &&
        !other_namespaces.contains(info.pid_namespace)) {
      jobs.insert(pid);
    }
  }
  return jobs;
}

}  // namespace

std::vector<pid_t> JobProcessesOf(pid_t worker) {
  std::map<pid_t, ProcessInfo> table = ReadProcessTable();
  std::vector<pid_t> jobs;
  for (pid_t pid : JobProcesses(table)) {
    if (Descends(table, pid, worker)) jobs.push_back(pid);
  }
  return jobs;
}

pid_t HostPidOf(pid_t worker, pid_t reported) {
  std::map<pid_t, ProcessInfo> table = ReadProcessTable();
  const std::set<pid_t> jobs = JobProcesses(table);
  for (const auto& [pid, info] : table) {
    // Unsandboxed, the reported pid is the host's own.
    bool candidate = info.namespace_depth <= 1
                         ? pid == reported
                         : jobs.contains(pid) && info.innermost_pid == reported;
    if (candidate && !info.zombie && Descends(table, pid, worker)) return pid;
  }
  return 0;
}

std::vector<pid_t> ProcessesNamed(pid_t root, const std::set<std::string>& names) {
  std::map<pid_t, ProcessInfo> table = ReadProcessTable();
  std::vector<pid_t> found;
  for (const auto& [pid, info] : table) {
    if (names.contains(info.name) && Descends(table, pid, root)) found.push_back(pid);
  }
  return found;
}

std::vector<pid_t> ProcessTreeOf(pid_t root) {
  std::map<pid_t, ProcessInfo> table = ReadProcessTable();
  std::vector<pid_t> tree;
  for (const auto& [pid, info] : table) {
    if (pid == root || Descends(table, pid, root)) tree.push_back(pid);
  }
  return tree;
}

bool ProcessIsAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string id, name, state;
  return static_cast<bool>(stat >> id >> name >> state) && state != "Z";
}

}  // namespace rexec::testing
