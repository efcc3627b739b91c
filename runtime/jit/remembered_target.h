// Where a worker finds its compile server's target description without starting a server.
//
// Describing the target takes LLVM's view of the host CPU, which only the compile server has, and
// starting one maps LLVM (~30 ms). Every worker start waited for it, which an embedded worker
// (rexec-send without --worker) pays on every run. The description is kept in a store of its own
// beside the object store (CACHE_DIR/targets, bound to its key by a MAC like the objects whose
// key it decides) under a key made of everything that decides it: rexec's
// and LLVM's versions, the server binary (its path, size, modification time and inode) and the
// CPU as the kernel lists it (the first processor of /proc/cpuinfo, less its clock). A worker
// that finds it starts its compile server at its first compile instead; a server that describes
// another target is refused there (compile_process.h), and its description replaces the
// remembered one for the next start.
#pragma once

#include <string>

#include "rexec/content_hash.h"

namespace rexec {

// The key of the description `server_path` would give on this machine.
ContentHash RememberedTargetKey(const std::string& server_path);

}  // namespace rexec
