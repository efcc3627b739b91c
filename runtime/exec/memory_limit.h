// A job's memory limit (--memory): how much address space it may map beyond what it had when the
// limit was set.
//
// An address-space limit (RLIMIT_AS), not RLIMIT_DATA, so that shared anonymous mappings count
// too (RLIMIT_DATA let 1 GB of them through a 256 MB limit). Measured from the process's current
// size: a job forked from its module's template starts with the template's mappings (the JIT's
// libraries among them), which it never touches. Async-signal-safe.
#pragma once

#include <cstdint>

namespace rexec {

enum class LimitKind {
  kFixed,    // soft and hard: the job cannot raise it (a program)
  kPerJob,   // soft only, changed for every job of a command executor
};

// 0: no limit (kPerJob restores the hard limit). False if the kernel refused it.
bool LimitMemoryGrowth(uint64_t bytes, LimitKind kind);

}  // namespace rexec
