/* Writes through a null pointer. */
#include <stdio.h>

int main(void) {
  printf("about to crash\n");
  fflush(stdout);
  volatile int *null_pointer = 0;
  *null_pointer = 1;
  return 0;
}
