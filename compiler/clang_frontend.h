// clang as a library: one compiler invocation per source, the result an llvm::Module in memory.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compiler/compiler.h"

namespace rexec {

// Runs clang's driver on `options` to get one cc1 job per source, then runs each job's front end
// and code generation to LLVM IR. Diagnostics go to `diagnostics`; every file the compilation
// read (sources and all headers, system headers included) is appended to `inputs`.
absl::StatusOr<std::vector<std::unique_ptr<llvm::Module>>> CompileToModules(
    llvm::LLVMContext& context, const CompileOptions& options, std::string& diagnostics,
    std::vector<std::string>& inputs);

}  // namespace rexec
