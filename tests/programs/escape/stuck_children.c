// Leaves two processes that would run for an hour: a daemon (setsid, double fork, descriptors
// closed) and a child in a session of its own that keeps stdout open. Prints their pids, then
// either exits at once ("exit") or runs until it is killed ("hang").
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int pids[2];
  if (pipe(pids) != 0) return 2;
  if (fork() == 0) {
    setsid();
    pid_t daemon = fork();
    if (daemon == 0) {
      for (int fd = 0; fd < 3; ++fd) close(fd);
      sleep(3600);
      _exit(0);
    }
    write(pids[1], &daemon, sizeof daemon);
    _exit(0);
  }
  pid_t holder = fork();
  if (holder == 0) {
    setsid();
    sleep(3600);  // with the job's stdout open
    _exit(0);
  }
  pid_t daemon = 0;
  read(pids[0], &daemon, sizeof daemon);
  printf("daemon %d holder %d\n", (int)daemon, (int)holder);
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "hang") == 0) {
    for (;;) pause();
  }
  return 0;
}
