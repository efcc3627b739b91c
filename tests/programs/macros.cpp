// Built with -DREMOVED -UREMOVED -DVALUE=... : -U must undo -D, -D must define.
#include <cstdio>

#ifdef REMOVED
#error "-UREMOVED did not undefine REMOVED"
#endif

int main() {
  std::printf("VALUE=%s\n", VALUE);
  return 0;
}
