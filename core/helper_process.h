// Starting one of the worker's helper executables (the compile server, module templates) clean.
//
// fork(), then in the child only async-signal-safe calls until execve() of a binary opened
// beforehand and executed by descriptor (inside a sandbox its path may not be visible): exactly
// the given descriptors, no environment (unless kept), default signal handling, no core dumps,
// no_new_privs, and death with the parent (PR_SET_PDEATHSIG, re-armed if the in-child step
// clears it). The helper starts with none of the worker's memory, so it holds no other client's
// data. The client starts its compiler process the same way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rexec {

struct HelperProcessSpec {
  // Stand-ins in `descriptors`: the helper's end of a new socket to it, and /dev/null.
  static constexpr int kChannel = -2;
  static constexpr int kDevNull = -3;

  std::string path;
  std::vector<std::string> args;  // after argv[0]
  std::vector<int> descriptors;   // become the helper's 0, 1, 2, ... in this order
  uint64_t address_space_bytes = 0;  // RLIMIT_AS; 0: unlimited
  // The caller's environment instead of none: for a helper that acts for the user, as the
  // client's compiler does (CPATH and the like).
  bool keep_environment = false;
  // Without the caller's environment: every shared library's symbols bound as the helper
  // starts (LD_BIND_NOW), not at their first call. For a helper that forks many short-lived
  // children (a module template): a symbol bound lazily is bound again in each child, a
  // dynamic-linker lookup and a copied page every time.
  bool bind_symbols_at_start = false;
  // Runs in the child just before exec, async-signal-safe (e.g. entering the sandbox).
  void (*in_child)(const void* context) = nullptr;
  const void* context = nullptr;
};

struct HelperProcess {
  pid_t pid;    // a child of the caller, which must reap it
  int channel;  // the worker's end of the socket (kChannel), owned by the caller
};

absl::StatusOr<HelperProcess> StartHelperProcess(const HelperProcessSpec& spec);

// Waits until the helper `pid` has ended (through EINTR) and returns its wait status.
int AwaitHelperExit(pid_t pid);

// Waits for the helper `pid` on a thread of its own, for a caller that has what it needed from
// the helper and need not wait for the kernel to free a large process's memory as it exits.
void ReapHelperInBackground(pid_t pid);

// How a helper ended, for messages: "crashed with signal 11 (Segmentation fault)" or "exited
// with status 70".
std::string DescribeHelperExit(int status);

}  // namespace rexec
