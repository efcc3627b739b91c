// Reads all of stdin until EOF and reports it with the program's arguments and build settings.
// Built with -DN=5 -Iinc -std=c++20 together with util.cpp.
#include <cstdio>
#include <iostream>
#include <span>
#include <string_view>

#include "text_stats.h"

#ifndef N
#error "N is not defined: -DN=... did not reach the compiler"
#endif

int main(int argc, char** argv) {
  TextStats stats;
  char buffer[4096];
  while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
    Accumulate(stats, std::string_view(buffer, std::cin.gcount()));
  }
  std::printf("N=%d\n", N);
  std::printf("__cplusplus=%ld\n", static_cast<long>(__cplusplus));
#ifdef __OPTIMIZE__
  std::printf("optimized\n");
#else
  std::printf("not optimized\n");
#endif
  std::printf("argc=%d\n", argc);
  for (std::string_view arg : std::span(argv + 1, argc - 1)) {
    std::printf("arg=%.*s\n", static_cast<int>(arg.size()), arg.data());
  }
  std::printf("stdin lines=%llu bytes=%llu fnv1a=%016llx\n", (unsigned long long)stats.lines,
              (unsigned long long)stats.bytes, (unsigned long long)stats.fnv1a);
  return std::cin.bad() ? 1 : 0;
}
