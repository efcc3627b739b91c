// The filesystem a sandboxed job sees: a minimal, read-only view of the system, and two private
// writable directories.
//
//   /usr, /bin, /lib, /lib64, /sbin   the host's, read-only (system libraries, locales, zoneinfo)
//   /etc                             only the files libc needs: ld.so.cache, passwd, group,
//                                    nsswitch.conf, hosts, localtime (read-only)
//   /dev                             null, zero, full, random, urandom; fd, stdin, stdout, stderr
//                                    links; /dev/shm private
//   /proc                            the job's own processes only (its own pid namespace)
//   /work                            the working directory: private, writable, sized
//   /tmp                             private, writable, sized
// Nothing else: no worker cache, no home directories, no other process's /proc, no /sys.
//
// Built inside the job's new mount namespace by the job's first process, which holds
// capabilities over that namespace only. Async-signal-safe: it runs between fork() and the job.
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace rexec {

struct JobFilesystemOptions {
  uint64_t scratch_bytes;  // size of /work and of /tmp, each
  uid_t owner_uid;         // owns /work
  gid_t owner_gid;
};

// Builds the view and makes it the process's root, with /work as its working directory. On
// failure returns the step that failed (errno says why); nullptr on success.
const char* EnterJobFilesystem(const JobFilesystemOptions& options);

}  // namespace rexec
