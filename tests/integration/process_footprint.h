// What a process holds of the host, as /proc shows it: its resident memory, its open file
// descriptors, and the processes it started. Leak checks compare these before and after.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ostream>

namespace rexec::testing {

// The process's resident memory in bytes (VmRSS), 0 if it cannot be read.
uint64_t ResidentBytes(pid_t pid);

// How many file descriptors the process has open, -1 if they cannot be read.
int OpenDescriptors(pid_t pid);

struct ProcessFootprint {
  uint64_t resident_bytes = 0;
  int open_descriptors = 0;
  int processes = 0;  // the process and its descendants (ProcessTreeOf)
};

ProcessFootprint FootprintOf(pid_t pid);

// "RSS 123.4 MB, 17 fds, 6 processes"
std::ostream& operator<<(std::ostream& out, const ProcessFootprint& footprint);

}  // namespace rexec::testing
