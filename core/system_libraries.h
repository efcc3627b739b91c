// Libraries by name, as `-lNAME` means them: which names are the C and C++ runtime, which names
// are well formed, and where a system keeps its libraries.
//
// Both sides use this. The client looks for a static archive of a -lNAME in the user's -L
// directories and then in the system directories; the worker resolves the name of a shared
// library a job asks for in its own system directories only, never at a path a client names.
// Runtime names (-lm, -lpthread, -lstdc++, ...) need neither: every job's process already has
// those libraries loaded (runtime/jit/jit_session.h resolves their symbols from it), as a native
// link would.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rexec {

// The C and C++ runtime libraries a native `clang++` links (libc, libm, libstdc++, libgcc_s) and
// the ones glibc folded into libc (libpthread, libdl, librt, libutil).
bool IsRuntimeLibraryName(std::string_view name);

// A NAME that can only name a file in a library directory: 1 to 200 characters of letters,
// digits and "_+-.", not starting with '.'.
bool IsValidLibraryName(std::string_view name);

// The system library directories, searched in this order: /usr/local/lib, /lib, /usr/lib, each
// with its multiarch subdirectory (e.g. /usr/lib/x86_64-linux-gnu) first.
const std::vector<std::string>& SystemLibraryDirectories();

// The first existing `libNAME.so` in the system library directories, or nullopt.
std::optional<std::string> FindSystemSharedLibrary(std::string_view name);

}  // namespace rexec
