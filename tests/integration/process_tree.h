// The processes a worker started, as the host sees them.
//
// A sandboxed job runs in its own pid namespace, so the pid it reports (getpid()) is not the
// one the host knows it by; these map between the two through /proc.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

namespace rexec::testing {

// The descendants of a worker that run in a job's pid namespace: sandboxed jobs, their init and
// whatever they started (not the compile server, which is sandboxed too, nor a job started
// ahead of its launch, which has run nothing yet).
std::vector<pid_t> JobProcessesOf(pid_t worker);

// The host pid of the worker's job process whose innermost pid is `reported`, or 0.
pid_t HostPidOf(pid_t worker, pid_t reported);

// `root` and every process below it, zombies included (an unreaped child is a leak too). Jobs
// that orphan their children stay inside: a module template is their subreaper.
std::vector<pid_t> ProcessTreeOf(pid_t root);

// The processes below `root` (zombies included) whose name (comm, at most 15 characters) is one
// of `names`.
std::vector<pid_t> ProcessesNamed(pid_t root, const std::set<std::string>& names);

// Whether `pid` exists and is not a zombie.
bool ProcessIsAlive(pid_t pid);

}  // namespace rexec::testing
