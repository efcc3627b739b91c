#include "runtime/jit/module_preparation.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>

#include <algorithm>
#include <vector>

namespace rexec {
namespace {

// Replaces the array `list_name` by a function `function_name` that calls its entries in
// priority order (reversed for destructors).
void LowerStructorList(llvm::Module& module, llvm::iterator_range<llvm::orc::CtorDtorIterator> list,
                       const char* list_name, const char* function_name, bool reverse) {
  struct Entry {
    unsigned priority;
    llvm::Function* function;
  };
  std::vector<Entry> entries;
  for (llvm::orc::CtorDtorIterator::Element element : list) {
    if (element.Func != nullptr) entries.push_back({element.Priority, element.Func});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.priority < b.priority; });
  if (reverse) std::reverse(entries.begin(), entries.end());
  if (llvm::GlobalVariable* array = module.getGlobalVariable(list_name)) array->eraseFromParent();

  llvm::LLVMContext& context = module.getContext();
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), false);
  auto* function =
      llvm::Function::Create(type, llvm::Function::ExternalLinkage, function_name, module);
  llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", function));
  for (const Entry& entry : entries) builder.CreateCall(type, entry.function);
  builder.CreateRetVoid();
}

}  // namespace

void PrepareForExecution(llvm::Module& module) {
  LowerStructorList(module, llvm::orc::getConstructors(module), "llvm.global_ctors", kInitSymbol,
                    /*reverse=*/false);
  LowerStructorList(module, llvm::orc::getDestructors(module), "llvm.global_dtors", kFiniSymbol,
                    /*reverse=*/true);
  // C++ static destructors register with __cxa_atexit(..., &__dso_handle). The handle is hidden
  // (PC-relative) and no JIT platform defines it here, so each module defines its own.
  if (llvm::GlobalVariable* handle = module.getGlobalVariable("__dso_handle");
      handle != nullptr && handle->isDeclaration()) {
    handle->setInitializer(llvm::ConstantInt::get(llvm::Type::getInt8Ty(module.getContext()), 0));
    handle->setLinkage(llvm::GlobalValue::InternalLinkage);
  }
}

}  // namespace rexec
