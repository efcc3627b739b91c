// Tries to read each path given; prints what happened to each.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      printf("%s: %s\n", argv[i], strerror(errno));
      continue;
    }
    char buffer[256];
    ssize_t got = read(fd, buffer, sizeof buffer);
    printf("%s: READ %zd bytes\n", argv[i], got);
    close(fd);
  }
  return 0;
}
