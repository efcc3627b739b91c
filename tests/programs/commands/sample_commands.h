// Command classes shared by the client API test (compiled into it) and sent to workers as source.
#pragma once

#include <rexec/command.h>

#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct Point {
  double x = 0;
  double y = 0;
  REXEC_FIELDS(x, y)
};

struct SampleCommand2 {
  std::string message = "hi";
  std::vector<double> xs;
  int repeat = 1;
  double total = 0;
  std::map<std::string, int> counts;
  std::optional<Point> centroid;
  int main() {
    for (double x : xs) total += x;
    for (int i = 0; i < repeat; ++i) std::printf("%s\n", message.c_str());
    ++counts[message];
    return repeat;
  }
  REXEC_FIELDS(message, xs, repeat, total, counts, centroid)
};

struct Square {
  long long value = 0;
  void main() { value *= value; }
  REXEC_FIELDS(value)
};

struct Thrower {
  std::string reason;
  int main() { throw std::invalid_argument(reason); }
  REXEC_FIELDS(reason)
};

REXEC_COMMAND(SampleCommand2)
REXEC_COMMAND(Square)
REXEC_COMMAND(Thrower)
