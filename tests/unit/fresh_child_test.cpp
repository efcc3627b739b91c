#include "core/fresh_child.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>

namespace rexec {
namespace {

// Runs `check` in a forked child (these steps rearrange a process's descriptors) and returns
// its exit code.
int InChild(const std::function<int()>& check) {
  const pid_t child = fork();
  if (child == 0) _exit(check());
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) >= 0; }

TEST(FreshChildTest, CloseDescriptorsButKeepsExactlyThoseGivenInAnyOrder) {
  EXPECT_EQ(InChild([] {
              int fds[6];
              for (int& fd : fds) fd = open("/dev/null", O_RDONLY);
              CloseDescriptorsBut({fds[4], -1, fds[1], STDERR_FILENO});
              int wrong = 0;
              for (int i = 0; i < 6; ++i) {
                if (IsOpen(fds[i]) != (i == 1 || i == 4)) wrong |= 1 << i;
              }
              if (!IsOpen(STDERR_FILENO) || IsOpen(STDIN_FILENO) || IsOpen(STDOUT_FILENO)) {
                wrong |= 1 << 6;
              }
              return wrong;
            }),
            0);
}

TEST(FreshChildTest, PlaceDescriptorsPutsEachAtItsIndexWhateverNumbersTheyHad) {
  EXPECT_EQ(InChild([] {
              int ends[2];
              if (pipe(ends) != 0) return 100;
              // Crossed on purpose: the write end goes to 0, stdin (0) to 2, the read end to 1.
              const int order[] = {ends[1], ends[0], STDIN_FILENO};
              const int stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
              if (!PlaceDescriptors(order)) return 101;
              if (write(0, "x", 1) != 1) return 102;
              char byte = 0;
              if (read(1, &byte, 1) != 1 || byte != 'x') return 103;
              return fcntl(2, F_GETFL) == stdin_flags ? 0 : 104;
            }),
            0);
}

}  // namespace
}  // namespace rexec
