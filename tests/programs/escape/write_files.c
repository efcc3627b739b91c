// Tries to create each path given; prints what happened to each.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    int fd = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      printf("%s: %s\n", argv[i], strerror(errno));
      continue;
    }
    printf("%s: %s\n", argv[i], write(fd, "x", 1) == 1 ? "WROTE" : strerror(errno));
    close(fd);
  }
  return 0;
}
