// pthread_atfork handlers run around a fork() made by the program itself.
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

int prepared = 0, in_parent = 0, in_child = 0;

int main() {
  pthread_atfork([] { ++prepared; }, [] { ++in_parent; }, [] { ++in_child; });
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    std::printf("child: prepare=%d child=%d\n", prepared, in_child);
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::printf("parent: prepare=%d parent=%d child=%d, child exited %d\n", prepared, in_parent,
              in_child, WEXITSTATUS(status));
  return 0;
}
