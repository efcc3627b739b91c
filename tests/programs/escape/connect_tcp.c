// Tries to open a TCP connection to 127.0.0.1 on each port given.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      printf("port %s: socket: %s\n", argv[i], strerror(errno));
      continue;
    }
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)atoi(argv[i]));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int connected = connect(fd, (struct sockaddr*)&address, sizeof address);
    printf("port %s: connect: %s\n", argv[i], connected == 0 ? "CONNECTED" : strerror(errno));
    close(fd);
  }
  return 0;
}
