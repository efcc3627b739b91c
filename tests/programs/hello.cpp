// The smallest program: proves a worker can compile and run anything at all.
#include <cstdio>

int main() {
  std::printf("hello from rexec\n");
  return 0;
}
