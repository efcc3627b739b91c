// The system calls a job may not make: a seccomp-bpf program, built once per worker.
//
// Denied (EPERM unless noted): ptrace and cross-process memory access; mount, umount2,
// pivot_root, chroot; kexec; bpf; perf_event_open; keyctl, add_key, request_key; userfaultfd;
// module loading; reboot; swapon/swapoff; setns, unshare and clone with any namespace flag;
// io_uring (its operations would bypass this filter); sockets of any family but AF_UNIX
// (EAFNOSUPPORT); clone3 (ENOSYS, whose flags a filter cannot read: libc falls back to clone).
// A system call of another architecture (the x32 ABI, i386) kills the process: filters without
// that check can be bypassed through them.
//
// Built with libseccomp in the worker; installed in a job with one prctl(), which is
// async-signal-safe, so a freshly forked child can install it.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "absl/status/statusor.h"

namespace rexec {

class SyscallFilter {
 public:
  static absl::StatusOr<SyscallFilter> Build();

  // Installs the filter on the calling process; it must already have no_new_privs. Returns
  // false (errno set) if the kernel refused it.
  bool Install() const;

 private:
  std::vector<sock_filter> program_;
};

}  // namespace rexec
