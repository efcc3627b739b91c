// Rewrites a module so a forked child can start it by calling plain function pointers.
//
// ORC's platforms run static initializers through their own machinery (`initialize()`), which
// costs milliseconds per child and keeps atexit handlers in a list of their own that `exit()`
// never runs. rexec instead lowers `llvm.global_ctors` and `llvm.global_dtors` into two
// functions, resolved once in the worker; a child calls `rexec.init`, registers `rexec.fini` as
// its first exit handler (so it runs last, like `.fini_array`), and runs the entry point.
#pragma once

#include <llvm/IR/Module.h>

namespace rexec {

inline constexpr char kInitSymbol[] = "rexec.init";
inline constexpr char kFiniSymbol[] = "rexec.fini";
inline constexpr char kMainSymbol[] = "main";
inline constexpr char kCommandSymbolPrefix[] = "rexec.command.";

// Bumped whenever the rewrite changes, so cached objects made by an older rewrite are not reused.
inline constexpr int kPreparationVersion = 1;

void PrepareForExecution(llvm::Module& module);

}  // namespace rexec
