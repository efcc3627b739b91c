// A command that prints, pauses, and prints again: its first line must reach the client while it
// pauses, through a direct worker and through the queue alike.
#include <rexec/command.h>
#include <unistd.h>

#include <cstdio>

struct Streaming {
  int pause_ms = 2000;
  int main() {
    std::printf("before the pause\n");
    std::fprintf(stderr, "stderr before the pause\n");
    usleep(static_cast<useconds_t>(pause_ms) * 1000);
    std::printf("after the pause\n");
    return 0;
  }
  REXEC_FIELDS(pause_ms)
};

REXEC_COMMAND(Streaming)
