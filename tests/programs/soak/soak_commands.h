// The soak test's command classes: one module whose commands end every way a command can, each
// with a result the test can predict exactly. The test includes this header for the types; the
// worker gets soak_commands.cpp.
#pragma once

#include <rexec/command.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// State in, state out: sums `xs`, echoes `tag`, returns how many values it summed.
struct Tally {
  std::string tag;
  std::vector<long long> xs;
  long long sum = 0;
  int main() {
    for (long long x : xs) sum += x;
    std::printf("%s\n", tag.c_str());
    return static_cast<int>(xs.size());
  }
  REXEC_FIELDS(tag, xs, sum)
};

// exit(code) before main() returns: the code and the output come back, the state does not.
struct Leave {
  int code = 0;
  void main() {
    std::printf("leaving %d\n", code);
    std::exit(code);
  }
  REXEC_FIELDS(code)
};

// Ends its executor with a signal: SIGABRT, or SIGSEGV.
struct Crash {
  bool abort = false;
  void main() {
    if (abort) std::abort();
    volatile int* null_pointer = nullptr;
    *null_pointer = 1;
  }
  REXEC_FIELDS(abort)
};

// Sleeps: past its time limit, or while its client goes away.
struct Nap {
  int ms = 0;
  void main() { usleep(static_cast<useconds_t>(ms) * 1000); }
  REXEC_FIELDS(ms)
};

REXEC_COMMAND(Tally)
REXEC_COMMAND(Leave)
REXEC_COMMAND(Crash)
REXEC_COMMAND(Nap)
