#include "runtime/jit/object_compiler.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "rexec/build_config.h"
#include "runtime/jit/module_preparation.h"

namespace rexec {

ObjectCompiler::~ObjectCompiler() = default;

absl::StatusOr<std::unique_ptr<ObjectCompiler>> ObjectCompiler::ForHost(
    bool register_asm_parser) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  // Inline assembly (rdtsc, cpuid, pause, hand-written blocks) is parsed when machine code is
  // emitted; without the parser LLVM ends the whole process with a fatal error.
  if (register_asm_parser) llvm::InitializeNativeTargetAsmParser();
  // Not detectHost(): clients compile for the generic CPU of the triple (as clang does by
  // default), and a target machine tuned for the host CPU schedules that code worse (measured:
  // n-body 10-15% slower with -mcpu=znver3 than with the generic x86-64 clang uses natively).
  std::optional<llvm::orc::JITTargetMachineBuilder> builder;
  builder.emplace(llvm::Triple(llvm::sys::getProcessTriple()));
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  builder->setRelocationModel(llvm::Reloc::PIC_);
  // JITTargetMachineBuilder defaults to the large code model, which loads every constant and
  // global through a 64-bit absolute address: n-body ran ~40% slower than native with it. JITLink
  // reaches anything outside the object through GOT and PLT stubs, so the small model is safe.
  builder->setCodeModel(llvm::CodeModel::Small);
  // Without an ORC runtime in the child, thread_local goes through libgcc's emutls.
  builder->getOptions().EmulatedTLS = true;
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine = builder->createTargetMachine();
  if (!machine) return absl::InternalError(llvm::toString(machine.takeError()));

  std::unique_ptr<ObjectCompiler> compiler(new ObjectCompiler);
  compiler->machine_ = std::move(*machine);
  llvm::TargetMachine& tm = *compiler->machine_;
  TargetDescription& target = compiler->target_;
  target.triple = tm.getTargetTriple().str();
  target.data_layout = tm.createDataLayout().getStringRepresentation();
  target.cpu = tm.getTargetCPU().str();
  target.features = tm.getTargetFeatureString().str();
  target.codegen_fingerprint =
      absl::StrCat("llvm=", kLlvmVersion, ";triple=", target.triple, ";cpu=", target.cpu,
                   ";features=", target.features,
                   ";opt=2;pic;small;emutls;prep=", kPreparationVersion);
  return compiler;
}

namespace {

// Collects error diagnostics. Without a handler, LLVMContext prints an error and calls exit(1).
class ErrorCollector : public llvm::DiagnosticHandler {
 public:
  bool handleDiagnostics(const llvm::DiagnosticInfo& diagnostic) override {
    if (diagnostic.getSeverity() != llvm::DS_Error) return true;
    llvm::raw_string_ostream stream(errors);
    if (!errors.empty()) stream << "\n";
    llvm::DiagnosticPrinterRawOStream printer(stream);
    diagnostic.print(printer);
    return true;
  }
  std::string errors;
};

}  // namespace

absl::StatusOr<std::string> ObjectCompiler::Compile(std::string_view bitcode) {
  llvm::LLVMContext context;
  auto collector = std::make_unique<ErrorCollector>();
  ErrorCollector& diagnostics = *collector;
  context.setDiagnosticHandler(std::move(collector));
  llvm::Expected<std::unique_ptr<llvm::Module>> parsed = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(llvm::StringRef(bitcode.data(), bitcode.size()), "module"), context);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat("unreadable bitcode: ", llvm::toString(parsed.takeError())));
  }
  llvm::Module& module = **parsed;
  if (module.getTargetTriple() != target_.triple) {
    return absl::InvalidArgumentError(absl::StrCat("module was compiled for ",
                                                   module.getTargetTriple(),
                                                   ", this worker runs ", target_.triple));
  }
  std::string verify_errors;
  llvm::raw_string_ostream verify_stream(verify_errors);
  if (llvm::verifyModule(module, &verify_stream)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid module: ", verify_errors));
  }
  module.setDataLayout(machine_->createDataLayout());
  PrepareForExecution(module);

  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream object_stream(object);
  llvm::legacy::PassManager passes;
  if (machine_->addPassesToEmitFile(passes, object_stream, nullptr,
                                    llvm::CodeGenFileType::ObjectFile)) {
    return absl::InternalError("this target cannot emit object files");
  }
  passes.run(module);
  if (!diagnostics.errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("code generation failed: ", diagnostics.errors));
  }
  return std::string(object.data(), object.size());
}

}  // namespace rexec
