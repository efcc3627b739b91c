// A command class with files (count_lines.cpp is its module): it counts the lines of its input
// file and writes a report into its working directory. A working directory is the job's own: a
// report left by an earlier job would mean two jobs shared one (exit 3).
#pragma once

#include <rexec/command.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

struct CountLines {
  std::string input = "data.txt";
  int lines = 0;

  int main() {
    if (std::filesystem::exists("report/count.txt")) {
      std::fprintf(stderr, "a report is here already\n");
      return 3;
    }
    std::ifstream in(input);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", input.c_str());
      return 2;
    }
    for (std::string line; std::getline(in, line);) ++lines;
    std::filesystem::create_directories("report");
    std::ofstream("report/count.txt") << input << ": " << lines << " lines\n";
    std::printf("counted %s\n", input.c_str());
    return 0;
  }
  REXEC_FIELDS(input, lines)
};
REXEC_COMMAND(CountLines)
