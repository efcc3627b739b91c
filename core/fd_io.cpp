#include "core/fd_io.h"

#include <unistd.h>

#include <cerrno>

namespace rexec {

ssize_t ReadSome(int fd, void* buffer, size_t size) {
  ssize_t n;
  while ((n = read(fd, buffer, size)) < 0 && errno == EINTR) {
  }
  return n;
}

bool ReadFully(int fd, void* buffer, size_t size) {
  auto* bytes = static_cast<char*>(buffer);
  while (size > 0) {
    const ssize_t n = ReadSome(fd, bytes, size);
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteFully(int fd, const void* buffer, size_t size) {
  const auto* bytes = static_cast<const char*>(buffer);
  while (size > 0) {
    ssize_t n = write(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace rexec
