// rexec::Module: compiled code as it travels from a client to a worker.
//
// A module is one LLVM bitcode blob named by its content hash. It holds a plain program (a
// `main`), command classes (REXEC_COMMAND), or both.
#pragma once

#include <string>
#include <vector>

#include "rexec/content_hash.h"

namespace rexec {

// A REXEC_COMMAND class found in a module, read from its metadata without running anything.
struct CommandInfo {
  std::string name;        // as written in REXEC_COMMAND(...)
  std::string descriptor;  // its fields' type descriptor, e.g. {message:string,xs:vector<f64>}
};

struct Module {
  std::string bitcode;
  ContentHash hash;
  std::vector<CommandInfo> commands;
  bool has_main = false;  // defines `main`, so it can run as a plain program
};

}  // namespace rexec
