#include <iostream>

int main() {
  std::cout << "Hello from a rexec worker!\n";
  return 0;
}
