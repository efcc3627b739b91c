// Reports its process id, then runs for a minute: long enough for a test to kill the worker
// under it.
#include <unistd.h>

#include <cstdio>

int main() {
  std::printf("running as pid %d\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  for (int i = 0; i < 600; ++i) usleep(100'000);
  return 0;
}
