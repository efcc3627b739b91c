// Whether a shipped library is machine code this worker can link: checked in the module's
// template process before ORC sees it (a client's archive or object is untrusted, like bitcode).
//
// An object must be a relocatable ELF object for the worker's architecture (ELF class and
// machine); an archive must be a regular (not thin: a thin archive's members are paths on the
// worker) archive whose object members all are. An archive member of LLVM bitcode is refused
// with the advice to pass the .bc as a source. Anything past these checks that JITLink cannot
// handle fails the link with LLVM's own message.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "runtime/jit/link_request.h"

namespace rexec {

// FailedPrecondition naming the library (and member) and what is wrong with it. `host_triple`
// is the JIT's target.
absl::Status CheckShippedLibrary(const LibraryInput& library, std::string_view host_triple);

}  // namespace rexec
