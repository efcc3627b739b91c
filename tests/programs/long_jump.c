/* setjmp/longjmp out of nested calls, in C. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf escape;
static int runs = 0;

static void Nested(int depth) {
  if (depth == 0) longjmp(escape, 17);
  Nested(depth - 1);
}

int main(void) {
  ++runs;
  volatile int jumps = 0;
  int value = setjmp(escape);
  if (value == 0) {
    Nested(5);
    printf("not reached\n");
  } else {
    ++jumps;
    printf("longjmp returned %d after %d jump(s)\n", value, jumps);
  }
  printf("runs=%d\n", runs);
  return 0;
}
