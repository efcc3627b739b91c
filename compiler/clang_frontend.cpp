#include "compiler/clang_frontend.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Driver/Compilation.h>
#include <clang/Driver/Driver.h>
#include <clang/Driver/Job.h>
#include <clang/Driver/Tool.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Frontend/Utils.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "rexec/build_config.h"

namespace rexec {
namespace {

// The include directory that holds <rexec/command.h>, so command sources need no -I of their own:
// an installed copy next to the running binary (PREFIX/bin -> PREFIX/include), else the source
// tree this was built from.
std::vector<std::string> RexecIncludeFlags() {
  static const std::string directory = [] {
    std::error_code error;
    std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
    std::filesystem::path installed = exe.parent_path().parent_path() / "include";
    if (!error && std::filesystem::exists(installed / "rexec" / "command.h", error)) {
      return installed.string();
    }
    return std::string(kRexecIncludeDir);
  }();
  return {"-I", directory};
}

// Records every file the preprocessor reads. System headers count: a new libstdc++ changes the
// bitcode as surely as an edited source does.
class InputFileCollector final : public clang::DependencyCollector {
 public:
  bool needSystemDependencies() override { return true; }
};

// clang's optimisation pipeline asks the target for its cost model (vectorisation, which libm
// calls may become instructions, ...). Without a registered target it silently optimises for
// no machine in particular: n-body's sqrt stayed a libm call and ran ~35% slower than clang's.
void RegisterTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
  });
}

// One cc1 job: a source's front end and code generation to IR in `context`. Diagnostics go to
// `diagnostics`, the files it read to `inputs`. Thread-safe across jobs with distinct contexts.
absl::StatusOr<std::unique_ptr<llvm::Module>> RunFrontend(const clang::driver::Command& job,
                                                          llvm::LLVMContext& context,
                                                          bool color, std::string& diagnostics,
                                                          std::vector<std::string>& inputs) {
  llvm::raw_string_ostream diagnostic_stream(diagnostics);
  llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> diagnostic_options =
      new clang::DiagnosticOptions();
  diagnostic_options->ShowColors = color;
  clang::TextDiagnosticPrinter printer(diagnostic_stream, diagnostic_options.get());
  clang::DiagnosticsEngine invocation_diagnostics(
      llvm::IntrusiveRefCntPtr<clang::DiagnosticIDs>(new clang::DiagnosticIDs()),
      diagnostic_options, &printer, /*ShouldOwnClient=*/false);
  auto compiler = std::make_unique<clang::CompilerInstance>();
  if (!clang::CompilerInvocation::CreateFromArgs(compiler->getInvocation(), job.getArguments(),
                                                 invocation_diagnostics)) {
    diagnostic_stream.flush();
    return absl::InvalidArgumentError("compilation failed");
  }
  // After the invocation exists: the engine takes its warning flags (-Wall, -w, ...) from it.
  compiler->createDiagnostics(&printer, /*ShouldOwnClient=*/false);
  // "N errors generated." would otherwise go straight to the process's stderr.
  compiler->setVerboseOutputStream(diagnostic_stream);
  auto collector = std::make_shared<InputFileCollector>();
  compiler->addDependencyCollector(collector);
  clang::EmitLLVMOnlyAction action(&context);
  bool ok = compiler->ExecuteAction(action);
  for (const std::string& input : collector->getDependencies()) inputs.push_back(input);
  diagnostic_stream.flush();
  if (!ok) return absl::InvalidArgumentError("compilation failed");
  std::unique_ptr<llvm::Module> module = action.takeModule();
  if (!module) return absl::InternalError("clang produced no module");
  return module;
}

// What one source's front end left, when several run at once: its module as bitcode (a module
// belongs to the context of the thread that made it), what it said and what it read.
struct FrontendResult {
  absl::Status status;
  std::string module_id;
  std::string bitcode;
  std::string diagnostics;
  std::vector<std::string> inputs;
};

// Several sources compile on as many threads as the machine has cores (a local `clang++ a.cpp
// b.cpp` compiles one after the other); the modules then move into `context` through bitcode.
// Diagnostics come out in the order of the sources, as clang's own would.
absl::StatusOr<std::vector<std::unique_ptr<llvm::Module>>> RunFrontendsInParallel(
    const std::vector<const clang::driver::Command*>& jobs, llvm::LLVMContext& context,
    bool color, std::string& diagnostics, std::vector<std::string>& inputs) {
  std::vector<FrontendResult> results(jobs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      FrontendResult& result = results[i];
      llvm::LLVMContext own_context;
      absl::StatusOr<std::unique_ptr<llvm::Module>> module =
          RunFrontend(*jobs[i], own_context, color, result.diagnostics, result.inputs);
      result.status = module.status();
      if (module.ok()) {
        result.module_id = (*module)->getModuleIdentifier();
        llvm::raw_string_ostream stream(result.bitcode);
        llvm::WriteBitcodeToFile(**module, stream);
      }
    }
  };
  const size_t thread_count =
      std::min<size_t>(jobs.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < thread_count; ++i) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();

  std::vector<std::unique_ptr<llvm::Module>> modules;
  absl::Status failed;
  for (FrontendResult& result : results) {
    diagnostics += result.diagnostics;
    inputs.insert(inputs.end(), result.inputs.begin(), result.inputs.end());
    if (!result.status.ok()) {
      if (failed.ok()) failed = result.status;
      continue;
    }
    llvm::Expected<std::unique_ptr<llvm::Module>> module = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(result.bitcode, "source"), context);
    if (!module) return absl::InternalError(llvm::toString(module.takeError()));
    (*module)->setModuleIdentifier(result.module_id);
    modules.push_back(std::move(*module));
  }
  if (!failed.ok()) return failed;
  return modules;
}

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<llvm::Module>>> CompileToModules(
    llvm::LLVMContext& context, const CompileOptions& options, std::string& diagnostics,
    std::vector<std::string>& inputs) {
  RegisterTargets();
  llvm::raw_string_ostream diagnostic_stream(diagnostics);
  llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> diagnostic_options =
      new clang::DiagnosticOptions();
  diagnostic_options->ShowColors = options.color_diagnostics;
  clang::TextDiagnosticPrinter printer(diagnostic_stream, diagnostic_options.get());
  clang::DiagnosticsEngine driver_diagnostics(
      llvm::IntrusiveRefCntPtr<clang::DiagnosticIDs>(new clang::DiagnosticIDs()),
      diagnostic_options, &printer, /*ShouldOwnClient=*/false);

  const std::string triple = options.target_triple;
  // The driver's own argv[0] decides its mode: "clang" (not clang++) so .c sources compile as C.
  std::vector<std::string> args = {kClangExecutable, "-c", "-emit-llvm", "-target", triple};
  for (auto& flag : RexecIncludeFlags()) args.push_back(flag);
  args.insert(args.end(), options.flags.begin(), options.flags.end());
  args.insert(args.end(), options.sources.begin(), options.sources.end());
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());

  clang::driver::Driver driver(kClangExecutable, triple, driver_diagnostics, "rexec");
  driver.setCheckInputsExist(true);
  std::unique_ptr<clang::driver::Compilation> compilation(driver.BuildCompilation(argv));
  diagnostic_stream.flush();
  if (!compilation || driver_diagnostics.hasErrorOccurred()) {
    return absl::InvalidArgumentError("compilation failed");
  }

  std::vector<const clang::driver::Command*> jobs;
  for (const clang::driver::Command& job : compilation->getJobs()) {
    if (std::string_view(job.getCreator().getName()) != "clang") {
      return absl::InternalError(
          absl::StrCat("unexpected compile step '", job.getCreator().getName(), "'"));
    }
    jobs.push_back(&job);
  }
  if (jobs.empty()) return absl::InvalidArgumentError("no source files to compile");
  diagnostic_stream.flush();
  if (jobs.size() > 1) {
    return RunFrontendsInParallel(jobs, context, options.color_diagnostics, diagnostics, inputs);
  }
  absl::StatusOr<std::unique_ptr<llvm::Module>> module =
      RunFrontend(*jobs.front(), context, options.color_diagnostics, diagnostics, inputs);
  if (!module.ok()) return module.status();
  std::vector<std::unique_ptr<llvm::Module>> modules;
  modules.push_back(*std::move(module));
  return modules;
}

}  // namespace rexec
