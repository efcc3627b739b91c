// kill(getppid()) and kill(-1): without a sandbox these would hit the worker and everything the
// worker's user owns, so the guard runs first.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sandbox_guard.h"

int main(void) {
  RequireSandbox();
  pid_t parent = getppid();
  int result = kill(parent, SIGKILL);
  printf("kill(getppid()=%d): %s\n", parent, result == 0 ? "sent" : strerror(errno));
  result = kill(-1, SIGKILL);
  printf("kill(-1): %s\n", result == 0 ? "sent" : strerror(errno));
  printf("still here\n");
  return 0;
}
