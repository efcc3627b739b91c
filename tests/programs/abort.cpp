// Calls abort().
#include <cstdio>
#include <cstdlib>

int main() {
  std::printf("about to abort\n");
  std::fflush(stdout);
  std::abort();
}
