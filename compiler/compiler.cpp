#include "compiler/compiler.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "compiler/clang_frontend.h"
#include "compiler/command_discovery.h"
#include "compiler/compile_flags.h"

namespace rexec {
namespace {

Module Describe(const llvm::Module& module, std::string bitcode) {
  Module result;
  result.hash = ContentHash::Of(bitcode);
  result.bitcode = std::move(bitcode);
  result.commands = FindCommands(module);
  result.has_main = DefinesMain(module);
  return result;
}

// A .bc source: bitcode made elsewhere (clang -emit-llvm -c), linked into the module as it is. It
// must be for the worker's target: the module's other code and the worker's JIT are.
absl::StatusOr<std::unique_ptr<llvm::Module>> ReadBitcodeSource(llvm::LLVMContext& context,
                                                                const std::string& path,
                                                                const std::string& triple) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file = llvm::MemoryBuffer::getFile(path);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", file.getError().message()));
  }
  llvm::Expected<std::unique_ptr<llvm::Module>> module =
      llvm::parseBitcodeFile((*file)->getMemBufferRef(), context);
  if (!module) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not an LLVM bitcode module: ", llvm::toString(module.takeError())));
  }
  const llvm::Triple own((*module)->getTargetTriple());
  const llvm::Triple wanted(triple);
  if (!(*module)->getTargetTriple().empty() &&
      (own.getArch() != wanted.getArch() || own.getOS() != wanted.getOS())) {
    return absl::InvalidArgumentError(absl::StrCat(path, " was compiled for ",
                                                   own.str(), "; the worker runs ", triple));
  }
  return std::move(*module);
}

}  // namespace

std::string HostTargetTriple() { return llvm::sys::getProcessTriple(); }

absl::StatusOr<Module> CompileToBitcode(const CompileOptions& options, std::string& diagnostics,
                                        std::vector<std::string>* inputs) {
  if (absl::Status flags = ValidateCompileFlags(options.flags); !flags.ok()) return flags;
  if (options.sources.empty()) return absl::InvalidArgumentError("no source files given");

  CompileOptions effective = options;
  if (effective.target_triple.empty()) effective.target_triple = HostTargetTriple();

  llvm::LLVMContext context;
  // The IR linker reports its errors (e.g. a symbol defined twice) through the context.
  std::string link_errors;
  context.setDiagnosticHandlerCallBack(
      [](const llvm::DiagnosticInfo* info, void* errors) {
        llvm::raw_string_ostream stream(*static_cast<std::string*>(errors));
        llvm::DiagnosticPrinterRawOStream printer(stream);
        info->print(printer);
        stream << "\n";
      },
      &link_errors);
  // Named modules: C and C++ sources compiled here, then the .bc sources as they are.
  std::vector<std::pair<std::string, std::unique_ptr<llvm::Module>>> modules;
  std::vector<std::string> read_files;
  CompileOptions clang_sources = effective;
  clang_sources.sources.clear();
  std::vector<std::string> bitcode_sources;
  for (const std::string& source : effective.sources) {
    (absl::EndsWith(source, ".bc") ? bitcode_sources : clang_sources.sources).push_back(source);
  }
  if (!clang_sources.sources.empty()) {
    absl::StatusOr<std::vector<std::unique_ptr<llvm::Module>>> compiled =
        CompileToModules(context, clang_sources, diagnostics, read_files);
    if (!compiled.ok()) return compiled.status();
    for (size_t i = 0; i < compiled->size(); ++i) {
      modules.emplace_back(clang_sources.sources[i], std::move((*compiled)[i]));
    }
  }
  for (const std::string& path : bitcode_sources) {
    absl::StatusOr<std::unique_ptr<llvm::Module>> module =
        ReadBitcodeSource(context, path, effective.target_triple);
    if (!module.ok()) return module.status();
    modules.emplace_back(path, *std::move(module));
    read_files.push_back(path);
  }

  // Several sources become one module, as a static link would make one executable: the worker
  // then compiles, caches and links a single unit.
  std::unique_ptr<llvm::Module> linked = std::move(modules.front().second);
  if (linked->getTargetTriple().empty()) linked->setTargetTriple(effective.target_triple);
  llvm::Linker linker(*linked);
  for (size_t i = 1; i < modules.size(); ++i) {
    if (linker.linkInModule(std::move(modules[i].second))) {
      return absl::InvalidArgumentError(
          absl::StrCat("linking ", modules[i].first, " into the module failed: ", link_errors));
    }
  }
  std::string verify_errors;
  llvm::raw_string_ostream verify_stream(verify_errors);
  if (llvm::verifyModule(*linked, &verify_stream)) {
    return absl::InternalError(absl::StrCat("clang produced an invalid module: ", verify_errors));
  }

  std::string bitcode;
  llvm::raw_string_ostream bitcode_stream(bitcode);
  llvm::WriteBitcodeToFile(*linked, bitcode_stream);
  bitcode_stream.flush();
  if (inputs != nullptr) inputs->insert(inputs->end(), read_files.begin(), read_files.end());
  return Describe(*linked, std::move(bitcode));
}

absl::StatusOr<Module> InspectBitcode(std::string bitcode) {
  llvm::LLVMContext context;
  llvm::Expected<std::unique_ptr<llvm::Module>> module = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(llvm::StringRef(bitcode), "module"), context);
  if (!module) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a readable LLVM bitcode module: ", llvm::toString(module.takeError())));
  }
  return Describe(**module, std::move(bitcode));
}

}  // namespace rexec
