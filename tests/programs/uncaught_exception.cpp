// Lets an exception escape main(): like any C++ program, it must end in std::terminate().
#include <cstdio>
#include <stdexcept>

void Fail() { throw std::runtime_error("uncaught boom"); }

int main() {
  std::printf("before the throw\n");
  Fail();
  std::printf("not reached\n");
  return 0;
}
