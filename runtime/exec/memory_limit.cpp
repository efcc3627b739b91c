#include "runtime/exec/memory_limit.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace rexec {
namespace {

// The process's size now, from /proc/self/statm (its first field, in pages); 0 if unknown.
uint64_t AddressSpaceBytes() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[64];
  ssize_t got = read(fd, text, sizeof text);
  close(fd);
  uint64_t pages = 0;
  for (ssize_t i = 0; i < got && text[i] >= '0' && text[i] <= '9'; ++i) {
    pages = pages * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  return pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

bool LimitMemoryGrowth(uint64_t bytes, LimitKind kind) {
  rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0) return false;
  if (bytes == 0) {
    limit.rlim_cur = limit.rlim_max;
  } else {
    const rlim_t wanted = AddressSpaceBytes() + bytes;
    limit.rlim_cur = wanted < limit.rlim_max ? wanted : limit.rlim_max;
    if (kind == LimitKind::kFixed) limit.rlim_max = limit.rlim_cur;
  }
  return setrlimit(RLIMIT_AS, &limit) == 0;
}

}  // namespace rexec
