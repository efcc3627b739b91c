// What a command line asks the worker to link besides its sources: archives, objects and -l
// libraries (rexec-send main.cpp libgeom.a helpers.o -L./lib -lgeom -lz).
//
// The client sorts a compile's arguments the way a native `clang++ ... -o prog` would use them:
//
//   .c, .cpp, ... and .bc   sources: compiled (or, for .bc, read) and linked into the one module
//   .a, .o                  shipped to the worker as they are and linked by its JIT
//   -LDIR                   searched for -lNAME, before the system library directories
//   -lNAME                  a runtime library (-lm, -lpthread, -lstdc++, -ldl, -lrt, ...): nothing
//                           to do, every job's process has those; else the first libNAME.a in
//                           the -L directories is shipped; else, in the system directories
//                           (core/system_libraries.h), a directory's libNAME.so is preferred to
//                           its libNAME.a as ld prefers it, and means the *worker's* own
//                           libNAME.so; a libNAME.a found there is shipped; and a name found
//                           nowhere here is left to the worker too, which says "library not
//                           found: -lNAME" when it lacks it.
//
// Libraries keep their command-line order, the order the worker searches them in.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rexec/module.h"

namespace rexec {

struct LinkInputs {
  std::vector<std::string> sources;  // for CompileToBitcode: C and C++ sources, .bc modules
  std::vector<std::string> flags;    // for CompileToBitcode: -l and -L taken out
  std::vector<Library> libraries;    // read and hashed, in command-line order
};

// InvalidArgument for a malformed -l, or an archive or object that cannot be read or is larger
// than 1 GiB.
absl::StatusOr<LinkInputs> GatherLinkInputs(const std::vector<std::string>& sources,
                                            const std::vector<std::string>& flags);

// True for -l and -L written apart from their value ("-L dir").
bool LinkFlagTakesValue(const std::string& flag);

}  // namespace rexec
