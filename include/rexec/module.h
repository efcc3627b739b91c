// rexec::Module: compiled code as it travels from a client to a worker.
//
// A module is one LLVM bitcode blob named by its content hash. It holds a plain program (a
// `main`), command classes (REXEC_COMMAND), or both, and the libraries the worker links it with.
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

// A library the worker links the module with (rexec-send's `.a`, `.o` and `-lNAME`). Archives
// and objects travel like modules, by content hash, uploaded only when the worker lacks them;
// they must be machine code for the worker's target. A system library is only a name: the
// worker's own libNAME.so from its system library directories, loaded for this module alone.
struct Library {
  enum class Kind { kArchive, kObject, kSystem };
  Kind kind = Kind::kArchive;
  std::string name;   // the file's name (messages only), or NAME of -lNAME for kSystem
  std::string bytes;  // the archive's or object's contents; empty for kSystem
  ContentHash hash;   // of `bytes`
};

struct Module {
  std::string bitcode;
  ContentHash hash;  // of `bitcode`; the libraries are not part of it
  std::vector<CommandInfo> commands;
  bool has_main = false;  // defines `main`, so it can run as a plain program
  std::vector<Library> libraries;  // in link order
};

}  // namespace rexec
