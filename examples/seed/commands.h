// The seed's two commands. The master includes this header to build and read them; the worker
// only ever receives their bitcode (built from commands.cpp), never this file.
#pragma once

#include <rexec/command.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

// Counts the words of a text.
struct SampleCommand1 {
  std::string text;
  std::map<std::string, int> counts;  // filled by main()
  void main() {
    std::istringstream words(text);
    for (std::string word; words >> word;) ++counts[word];
    std::printf("SampleCommand1 counted %zu distinct words\n", counts.size());
  }
  REXEC_FIELDS(text, counts)
};

// Sums numbers and prints a message a number of times.
struct SampleCommand2 {
  std::string message = "hi";
  std::vector<double> xs;
  int repeat = 1;
  double total = 0;  // written by main(), comes back to the caller
  int main() {
    for (double x : xs) total += x;
    for (int i = 0; i < repeat; ++i) std::printf("%s\n", message.c_str());
    return 0;
  }
  REXEC_FIELDS(message, xs, repeat, total)
};

REXEC_COMMAND(SampleCommand1)
REXEC_COMMAND(SampleCommand2)
