// Does not compile: the diagnostic must point at line 5, column 10.
#include <cstdio>

int main() {
  return undeclared_identifier;
}
