// The smallest useful command: the job is all overhead, which is what the benchmarks measure.
#pragma once

#include <rexec/command.h>

struct Trivial {
  int value = 0;
  void main() { ++value; }
  REXEC_FIELDS(value)
};

REXEC_COMMAND(Trivial)
