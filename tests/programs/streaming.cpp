// Writes to stdout (printf and std::cout) and stderr, sleeps, then writes again. Nothing is
// flushed explicitly: the first lines must still reach the client while the program sleeps.
#include <unistd.h>

#include <cstdio>
#include <iostream>

int main() {
  std::printf("stdout printf before sleep\n");
  std::cout << "stdout cout before sleep\n";
  std::fprintf(stderr, "stderr fprintf before sleep\n");
  std::cerr << "stderr cerr before sleep\n";
  sleep(2);
  std::printf("stdout after sleep\n");
  std::fprintf(stderr, "stderr after sleep\n");
  return 0;
}
