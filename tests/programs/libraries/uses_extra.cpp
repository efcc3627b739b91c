// Links extra_offset from LLVM bitcode: rexec-send uses_extra.cpp extra.bc.
#include <cstdio>

extern "C" int extra_offset(void);

int main() {
  std::printf("offset %d\n", extra_offset());
  return 0;
}
