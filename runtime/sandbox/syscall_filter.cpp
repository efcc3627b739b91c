#include "runtime/sandbox/syscall_filter.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

constexpr const char* kDeniedSyscalls[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsmount",
    "fsconfig", "fspick", "mount_setattr",
    "kexec_load", "kexec_file_load", "bpf", "perf_event_open",
    "keyctl", "add_key", "request_key", "userfaultfd",
    "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl",
    "setns", "unshare",
    "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
};

constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,
                                        CLONE_NEWNET, CLONE_NEWIPC,  CLONE_NEWUTS,
                                        CLONE_NEWCGROUP};

struct ContextDeleter {
  void operator()(void* context) const { seccomp_release(context); }
};

absl::Status Failed(const char* what, int result) {
  return absl::InternalError(absl::StrCat("seccomp: ", what, ": ", std::strerror(-result)));
}

}  // namespace

absl::StatusOr<SyscallFilter> SyscallFilter::Build() {
  std::unique_ptr<void, ContextDeleter> context(seccomp_init(SCMP_ACT_ALLOW));
  if (context == nullptr) return absl::InternalError("seccomp: cannot create a filter");
  scmp_filter_ctx filter = context.get();
  if (int r = seccomp_attr_set(filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); r != 0) {
    return Failed("bad-architecture action", r);
  }
  for (const char* name : kDeniedSyscalls) {
    int number = seccomp_syscall_resolve_name(name);
    if (number == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: the kernel lacks it too
    if (int r = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), number, 0); r != 0) {
      return Failed(name, r);
    }
  }
  for (uint64_t flag : kNamespaceFlags) {
    if (int r = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
        r != 0) {
      return Failed("clone", r);
    }
  }
  if (int r = seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); r != 0) {
    return Failed("clone3", r);
  }
  for (int call : {SCMP_SYS(socket), SCMP_SYS(socketpair)}) {
    if (int r = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EAFNOSUPPORT), call, 1,
                                 SCMP_A0(SCMP_CMP_NE, AF_UNIX));
        r != 0) {
      return Failed("socket", r);
    }
  }

  // libseccomp 2.5 exports only to a descriptor: read the program back from a memory file.
  int file = memfd_create("rexec-seccomp", MFD_CLOEXEC);
  if (file < 0) return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  int exported = seccomp_export_bpf(filter, file);
  off_t size = lseek(file, 0, SEEK_END);
  SyscallFilter result;
  if (exported == 0 && size > 0 && size % sizeof(sock_filter) == 0) {
    result.program_.resize(static_cast<size_t>(size) / sizeof(sock_filter));
    if (pread(file, result.program_.data(), static_cast<size_t>(size), 0) != size) {
      result.program_.clear();
    }
  }
  close(file);
  if (result.program_.empty()) return absl::InternalError("seccomp: cannot export the filter");
  return result;
}

bool SyscallFilter::Install() const {
  sock_fprog program{static_cast<unsigned short>(program_.size()),
                     const_cast<sock_filter*>(program_.data())};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) == 0;
}

}  // namespace rexec
