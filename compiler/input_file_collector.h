// Records every file the preprocessor reads, and those a loaded PCH was built from. System
// headers count: a new libstdc++ changes the bitcode as surely as an edited source does.
#pragma once

#include <clang/Frontend/Utils.h>

namespace rexec {

class InputFileCollector final : public clang::DependencyCollector {
 public:
  bool needSystemDependencies() override { return true; }
};

}  // namespace rexec
