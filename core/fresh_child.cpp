#include "core/fresh_child.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <iterator>

namespace rexec {

bool PlaceDescriptors(std::span<const int> fds) {
  constexpr size_t kMaxDescriptors = 16;
  if (fds.size() > kMaxDescriptors) return false;
  const int count = static_cast<int>(fds.size());
  int staged[kMaxDescriptors];
  for (int i = 0; i < count; ++i) {
    staged[i] = fcntl(fds[i], F_DUPFD, count);
    if (staged[i] < 0) return false;
  }
  for (int i = 0; i < count; ++i) {
    if (dup2(staged[i], i) < 0) return false;
  }
  return true;
}

void CloseDescriptorsBut(std::initializer_list<int> keep) {
  int kept[16];
  size_t count = 0;
  for (int fd : keep) {  // insertion sort: few, and no allocation between fork and exec
    if (fd < 0 || count == std::size(kept)) continue;
    size_t at = count++;
    for (; at > 0 && kept[at - 1] > fd; --at) kept[at] = kept[at - 1];
    kept[at] = fd;
  }
  unsigned first = 0;
  for (size_t i = 0; i < count; ++i) {
    const unsigned fd = static_cast<unsigned>(kept[i]);
    if (fd > first) close_range(first, fd - 1, 0);
    first = fd + 1;
  }
  close_range(first, ~0U, 0);
}

void ResetSignalHandling(int keep_blocked) {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    sigaction(signal_number, &default_action, nullptr);
  }
  sigset_t blocked;
  sigemptyset(&blocked);
  if (keep_blocked != 0) sigaddset(&blocked, keep_blocked);
  sigprocmask(SIG_SETMASK, &blocked, nullptr);
}

}  // namespace rexec
