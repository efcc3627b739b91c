// Calls that need privileges or cross the sandbox's walls: each must fail.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <unistd.h>

static void Report(const char* what, int result) {
  printf("%s: %s\n", what, result == 0 ? "ALLOWED" : strerror(errno));
}

int main(void) {
  Report("ptrace(ATTACH, 1)", (int)ptrace(PTRACE_ATTACH, 1, 0, 0));
  Report("ptrace(TRACEME)", (int)ptrace(PTRACE_TRACEME, 0, 0, 0));
  Report("mount(tmpfs)", mount("none", "/tmp", "tmpfs", 0, NULL));
  Report("umount(/usr)", umount2("/usr", MNT_DETACH));
  Report("unshare(NEWUSER)", unshare(CLONE_NEWUSER));
  Report("chroot(/tmp)", chroot("/tmp"));
  Report("setuid(0)", setuid(0));
  return 0;
}
