// Runs the host's setuid-root mount(8): with the setuid bit honoured it would run as root.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  fflush(stdout);
  int status = system("/usr/bin/mount -t tmpfs none /tmp 2>&1; echo \"mount exit $?\"");
  return status == -1 ? 1 : 0;
}
