// std::quick_exit runs the at_quick_exit handlers, and neither atexit handlers nor destructors.
#include <cstdio>
#include <cstdlib>

struct Global {
  ~Global() { std::printf("global destructor must not run\n"); }
} global;

int main() {
  std::at_quick_exit([] {
    std::printf("at_quick_exit handler\n");
    std::fflush(stdout);
  });
  std::atexit([] { std::printf("atexit handler must not run\n"); });
  std::quick_exit(9);
}
