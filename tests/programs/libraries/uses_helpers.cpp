// Links helper_twice from an object: rexec-send uses_helpers.cpp helpers.o.
#include <cstdio>

extern "C" int helper_twice(int x);

int main() {
  std::printf("twice %d\n", helper_twice(21));
  return 0;
}
