// C++ with static constructors and destructors, shipped as an object and in an archive: its
// globals must be built before main() and torn down after, as in a native link.
#include <cstdio>
#include <string>

namespace {

struct Announce {
  Announce() { std::puts("greeter constructed"); }
  ~Announce() { std::puts("greeter destroyed"); }
} announce;

const std::string greeting = std::string("hello from ") + "a shipped object";

}  // namespace

extern "C" const char* greeter_text() { return greeting.c_str(); }
