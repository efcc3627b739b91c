// Commands that end or leave things the way careless code does: exit() from main(), a thread
// left running, a child process left running, and a slow one.
#include <rexec/command.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

struct Exiter {
  int code = 0;
  void main() {
    std::printf("leaving with %d\n", code);
    std::exit(code);
  }
  REXEC_FIELDS(code)
};

struct ThreadLeaver {
  int jobs = 0;
  int main() {
    ++jobs;
    std::thread([] {
      for (;;) {
        std::puts("stray thread output");
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }).detach();
    return 0;
  }
  REXEC_FIELDS(jobs)
};

struct ChildLeaver {
  int jobs = 0;
  int main() {
    ++jobs;
    if (fork() == 0) {
      for (;;) {
        std::puts("stray child output");
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return 0;
  }
  REXEC_FIELDS(jobs)
};

struct Quiet {
  int jobs = 0;
  int main() {
    std::printf("quiet %d\n", ++jobs);
    return 0;
  }
  REXEC_FIELDS(jobs)
};

struct Sleeper {
  int ms = 0;
  void main() {
    std::printf("sleeping\n");
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
  REXEC_FIELDS(ms)
};

REXEC_COMMAND(Exiter)
REXEC_COMMAND(ThreadLeaver)
REXEC_COMMAND(ChildLeaver)
REXEC_COMMAND(Quiet)
REXEC_COMMAND(Sleeper)
