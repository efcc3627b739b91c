// Escape attempts that would harm the machine without a sandbox (kill(-1), fork floods) call
// this first: it ends the program unless it sees the sandbox's marks, so a worker run with
// --sandbox off (or a broken sandbox) turns the attempt into a refusal instead of damage.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void RequireSandbox(void) {
  char host[64] = "";
  gethostname(host, sizeof host);
  if (getpid() > 16 || getuid() != 1000 || strcmp(host, "rexec") != 0) {
    printf("not sandboxed: refusing to try\n");
    exit(3);
  }
}
