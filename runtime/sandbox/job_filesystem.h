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
// Built in two steps, by processes that hold capabilities over their own mount namespace only:
// the read-only system view once per mount namespace that jobs are copied from (a module
// template's), and the private, sized, writable parts by each job's init in the job's own copy
// of it. Async-signal-safe: both may run between fork() and the job.
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace rexec {

struct JobFilesystemOptions {
  uint64_t scratch_bytes;  // size of /work and of /tmp, each
  uid_t owner_uid;         // owns /work
  gid_t owner_gid;
};

// Builds the read-only system view in the calling process's (private) mount namespace and makes
// it the root; /proc, /tmp, /work and /dev/shm are empty mount points in it. On failure returns
// the step that failed (errno says why); nullptr on success.
const char* BuildSystemView();

// In a job's own mount and pid namespaces, copied from one where BuildSystemView() ran: mounts
// the job's /proc and its private /work, /tmp and /dev/shm, and enters /work. Same result
// convention as BuildSystemView().
const char* MountJobScratch(const JobFilesystemOptions& options);

}  // namespace rexec
