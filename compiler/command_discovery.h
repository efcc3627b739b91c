// Finds the entry points of a module by reading its IR, without running anything.
//
// REXEC_COMMAND(T) (include/rexec/command.h) emits a constant `rexec.meta.T` holding T's type
// descriptor and an entry function `rexec.command.T`; a plain program defines `main`.
#pragma once

#include <llvm/IR/Module.h>

#include <vector>

#include "compiler/compiler.h"

namespace rexec {

std::vector<CommandInfo> FindCommands(const llvm::Module& module);
bool DefinesMain(const llvm::Module& module);

}  // namespace rexec
