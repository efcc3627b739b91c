// Forks up to 10,000 children that each sleep a minute; reports how far it got. The limit on
// processes must stop it long before that, and the end of the job must take them all.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sandbox_guard.h"

int main(void) {
  RequireSandbox();
  int started = 0;
  for (; started < 10000; ++started) {
    pid_t child = fork();
    if (child == 0) {
      sleep(60);
      _exit(0);
    }
    if (child < 0) {
      printf("fork failed after %d children: %s\n", started, strerror(errno));
      return 0;
    }
  }
  printf("FORKED all %d\n", started);
  return 0;
}
