/* Valid C, not valid C++: an implicit void* conversion and a variable named `class`. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  int class = 7;
  int *p = malloc(sizeof *p);
  *p = class * 6;
  printf("compiled as C%ld: %d\n", (long)__STDC_VERSION__, *p);
  free(p);
  return 0;
}
