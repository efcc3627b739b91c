// Inline assembly as real programs use it: rdtsc and pause. Code generation must parse it.
#include <stdio.h>
int main(void) {
  unsigned lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  unsigned long long t = ((unsigned long long)hi << 32) | lo;
  __asm__ volatile("pause");
  printf("tsc is %s\n", t ? "ticking" : "zero");
  return 0;
}
