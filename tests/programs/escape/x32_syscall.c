// A system call through the x32 ABI (the same number with bit 30 set): a seccomp filter without
// an architecture check would let such calls past its rules. The sandbox kills the process.
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  printf("calling getpid through x32\n");
  fflush(stdout);
  long pid = syscall(0x40000000L | SYS_getpid);
  printf("ALLOWED: %ld\n", pid);
  return 0;
}
