// Bitcode to a relocatable object for this machine: the expensive step, done once per module.
//
// Everything that determines the machine code is named by its target's codegen_fingerprint
// (target_description.h).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/jit/target_description.h"

namespace llvm {
class TargetMachine;
}

namespace rexec {

class ObjectCompiler {
 public:
  // Without the asm parser, inline assembly is a fatal error in code generation (kept only so
  // tests can prove such an error fails one compile, not the worker).
  static absl::StatusOr<std::unique_ptr<ObjectCompiler>> ForHost(bool register_asm_parser = true);
  ~ObjectCompiler();

  const TargetDescription& target() const { return target_; }
  // LLVM version, triple, CPU, features, optimisation level and preparation version.
  const std::string& codegen_fingerprint() const { return target_.codegen_fingerprint; }

  // Parses, verifies and prepares the bitcode (module_preparation.h), then emits an ELF object.
  // Errors LLVM reports as diagnostics (bad inline assembly, say) fail the compile with their
  // text. Malformed bitcode can still crash LLVM or hit a fatal error, which ends the process:
  // the worker calls this only inside its compile server (compile_server.h).
  // Not thread-safe: one compiler per thread.
  absl::StatusOr<std::string> Compile(std::string_view bitcode);

 private:
  ObjectCompiler() = default;
  std::unique_ptr<llvm::TargetMachine> machine_;
  TargetDescription target_;
};

}  // namespace rexec
