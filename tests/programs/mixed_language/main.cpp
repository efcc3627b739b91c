// The C++ half of a mixed program: calls into helper.c.
#include <cstdio>

extern "C" int c_helper(int);

int main() {
  std::printf("c_helper(21)=%d\n", c_helper(21));
  return 0;
}
