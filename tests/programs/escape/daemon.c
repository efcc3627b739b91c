// Leaves a daemon behind (setsid, double fork, descriptors closed) that would run for an hour,
// then exits at once.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t child = fork();
  if (child == 0) {
    setsid();
    if (fork() == 0) {
      for (int fd = 0; fd < 3; ++fd) close(fd);
      sleep(3600);
      _exit(0);
    }
    _exit(0);
  }
  waitpid(child, NULL, 0);
  printf("daemon started\n");
  return 0;
}
