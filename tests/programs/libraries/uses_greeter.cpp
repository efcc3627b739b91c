// Links greeter_text from greeter.o or libgreeter.a, whose globals have constructors.
#include <cstdio>

extern "C" const char* greeter_text();

int main() {
  std::printf("greeting: %s\n", greeter_text());
  return 0;
}
