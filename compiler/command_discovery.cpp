#include "compiler/command_discovery.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>

#include <algorithm>

namespace rexec {
namespace {
constexpr llvm::StringLiteral kMetaPrefix = "rexec.meta.";
constexpr llvm::StringLiteral kEntryPrefix = "rexec.command.";
}  // namespace

std::vector<CommandInfo> FindCommands(const llvm::Module& module) {
  std::vector<CommandInfo> commands;
  for (const llvm::GlobalVariable& global : module.globals()) {
    llvm::StringRef name = global.getName();
    if (!name.starts_with(kMetaPrefix) || !global.hasInitializer()) continue;
    // The descriptor is a compile-time string object: a char array, possibly inside a struct.
    const llvm::Constant* initializer = global.getInitializer();
    if (auto* wrapper = llvm::dyn_cast<llvm::ConstantStruct>(initializer);
        wrapper != nullptr && wrapper->getNumOperands() == 1) {
      initializer = wrapper->getOperand(0);
    }
    auto* text = llvm::dyn_cast<llvm::ConstantDataSequential>(initializer);
    if (text == nullptr || !text->isCString()) continue;
    llvm::StringRef command = name.drop_front(kMetaPrefix.size());
    // Metadata without its entry function is not a command the worker could run.
    if (module.getFunction((kEntryPrefix + command).str()) == nullptr) continue;
    commands.push_back({command.str(), text->getAsCString().str()});
  }
  std::sort(commands.begin(), commands.end(),
            [](const CommandInfo& a, const CommandInfo& b) { return a.name < b.name; });
  return commands;
}

bool DefinesMain(const llvm::Module& module) {
  const llvm::Function* main = module.getFunction("main");
  return main != nullptr && !main->isDeclaration();
}

}  // namespace rexec
