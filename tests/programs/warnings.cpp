// Compiles with one unused-variable warning under -Wall, and none under -w.
#include <cstdio>

int main() {
  int unused_variable_for_wall = 3;
  std::printf("warnings program ran\n");
  return 0;
}
