// Says it started, sleeps argv[1] seconds (default 3), says it is done: a job that is still
// running when a test kills its worker, but that ends by itself.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  std::printf("started\n");
  std::fflush(stdout);
  sleep(argc > 1 ? std::atoi(argv[1]) : 3);
  std::printf("done\n");
  return 0;
}
