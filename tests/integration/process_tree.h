// The processes a worker started, as the host sees them.
//
// A sandboxed job runs in its own pid namespace, so the pid it reports (getpid()) is not the
// one the host knows it by; these map between the two through /proc.
#pragma once

#include <sys/types.h>

#include <vector>

namespace rexec::testing {

// Every live process that descends from `ancestor` (not counting it).
std::vector<pid_t> DescendantsOf(pid_t ancestor);

// The descendants of `ancestor` that run in a pid namespace below the host's: sandboxed jobs,
// their init and whatever they started.
std::vector<pid_t> SandboxedDescendantsOf(pid_t ancestor);

// The host pid of the descendant of `ancestor` whose innermost pid is `reported`, or 0.
pid_t HostPidOf(pid_t ancestor, pid_t reported);

// Whether `pid` exists and is not a zombie.
bool ProcessIsAlive(pid_t pid);

}  // namespace rexec::testing
