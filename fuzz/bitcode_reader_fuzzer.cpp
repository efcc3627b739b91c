// Fuzz target: the worker's work on uploaded bitcode before code generation: LLVM's bitcode
// reader, its verifier, and rexec's own rewrite of the module (runtime/jit/module_preparation.h),
// as ObjectCompiler::Compile does them (minus the triple check, so that bitcode for any target
// reaches the verifier).
//
// LLVM's library is not instrumented, so the fuzzer sees coverage only in this file and in
// module_preparation.cpp: it mutates blindly within LLVM. A crash here is an LLVM bug (the
// known one: ../shared/repro/mutated-bitcode-segv.bc); crashing inputs are kept in
// fuzz/crashes/bitcode/, never in the corpus that CI replays.
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>

#include <cstddef>
#include <cstdint>

#include "runtime/jit/module_preparation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llvm::LLVMContext context;
  llvm::Expected<std::unique_ptr<llvm::Module>> parsed = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(llvm::StringRef(reinterpret_cast<const char*>(data), size), "module"),
      context);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return 0;
  }
  if (llvm::verifyModule(**parsed, &llvm::nulls())) return 0;
  rexec::PrepareForExecution(**parsed);
  return 0;
}
