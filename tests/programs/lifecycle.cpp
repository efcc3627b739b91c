// Process lifecycle: global constructors and destructors, atexit handlers, function-local
// statics and a global counter, on a normal return from main() or on exit(N) from deep in the
// call stack (argv[1] == "exit N"). Every run must start from fresh globals.
#include <cstdio>
#include <cstdlib>
#include <string>

int main_calls = 0;
int local_static_inits = 0;

struct Announcer {
  Announcer() { std::printf("global constructor\n"); }
  ~Announcer() { std::printf("global destructor (main_calls=%d)\n", main_calls); }
};
Announcer announcer;

int& LocalStatic() {
  static int value = [] {
    ++local_static_inits;
    return 100;
  }();
  return value;
}

[[noreturn]] void ExitFromDepth(int depth, int code) {
  if (depth == 0) {
    std::printf("unflushed tail without newline");
    std::exit(code);
  }
  ExitFromDepth(depth - 1, code);
}

int main(int argc, char** argv) {
  ++main_calls;
  std::atexit([] { std::printf("atexit handler (main_calls=%d)\n", main_calls); });
  for (int i = 0; i < 3; ++i) ++LocalStatic();
  std::printf("main_calls=%d local_static=%d initialised %d time(s)\n", main_calls, LocalStatic(),
              local_static_inits);
  if (argc == 3 && std::string(argv[1]) == "exit") ExitFromDepth(20, std::atoi(argv[2]));
  return 0;
}
