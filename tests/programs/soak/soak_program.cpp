// The soak test's plain program: one module whose argv picks how this run ends, so that thousands
// of runs of every kind reuse one compiled module.
//
//   echo WORD   prints WORD on stdout and "err WORD" on stderr, exits 0
//   exit N      prints "exit N", then exit(N) from a function below main
//   segv        writes through a null pointer (SIGSEGV)
//   abort       abort() (SIGABRT)
//   daemon N    leaves a process in a session of its own that holds stdout open and sleeps for
//               minutes, prints "left a daemon", exits N
//   sleep MS [SAY]  prints SAY (if given) at once, sleeps MS milliseconds, prints "slept", exits 0
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

[[noreturn]] void ExitFromBelowMain(int code) {
  std::printf("exit %d\n", code);
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 100;
  const char* verb = argv[1];
  const char* operand = argc > 2 ? argv[2] : "";
  if (std::strcmp(verb, "echo") == 0) {
    std::printf("%s\n", operand);
    std::fprintf(stderr, "err %s\n", operand);
    return 0;
  }
  if (std::strcmp(verb, "exit") == 0) ExitFromBelowMain(std::atoi(operand));
  if (std::strcmp(verb, "segv") == 0) {
    volatile int* null_pointer = nullptr;
    *null_pointer = 1;
  }
  if (std::strcmp(verb, "abort") == 0) std::abort();
  if (std::strcmp(verb, "daemon") == 0) {
    std::fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
      setsid();
      if (fork() == 0) sleep(600);  // the daemon: its stdout is the job's
      _exit(0);
    }
    waitpid(child, nullptr, 0);
    std::printf("left a daemon\n");
    return std::atoi(operand);
  }
  if (std::strcmp(verb, "sleep") == 0) {
    if (argc > 3) {
      std::printf("%s\n", argv[3]);
      std::fflush(stdout);
    }
    usleep(static_cast<useconds_t>(std::atoi(operand)) * 1000);
    std::printf("slept\n");
    return 0;
  }
  return 101;
}
