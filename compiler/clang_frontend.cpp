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
#include "compiler/input_file_collector.h"
#include "compiler/precompiled_preamble.h"
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

// Passes diagnostics on to `target`, noting whether the first error had a place in the source:
// one that has none came before any source was read, e.g. from loading a PCH.
class FirstErrorWatcher final : public clang::DiagnosticConsumer {
 public:
  explicit FirstErrorWatcher(clang::DiagnosticConsumer& target) : target_(target) {}
  bool failed_before_source() const { return failed_before_source_; }

  void BeginSourceFile(const clang::LangOptions& options,
                       const clang::Preprocessor* preprocessor) override {
    target_.BeginSourceFile(options, preprocessor);
  }
  void EndSourceFile() override { target_.EndSourceFile(); }
  void finish() override { target_.finish(); }
  void HandleDiagnostic(clang::DiagnosticsEngine::Level level,
                        const clang::Diagnostic& info) override {
    if (level >= clang::DiagnosticsEngine::Error && !seen_error_) {
      seen_error_ = true;
      failed_before_source_ = info.getLocation().isInvalid();
    }
    DiagnosticConsumer::HandleDiagnostic(level, info);  // counts it
    target_.HandleDiagnostic(level, info);
  }

 private:
  clang::DiagnosticConsumer& target_;
  bool seen_error_ = false;
  bool failed_before_source_ = false;
};

// One cc1 job: a source's front end and code generation to IR in `context`, its preamble loaded
// from `preamble`'s PCH if it has one. Diagnostics go to `diagnostics`, the files it read to
// `inputs`. Thread-safe across jobs with distinct contexts.
absl::StatusOr<std::unique_ptr<llvm::Module>> RunFrontend(const clang::driver::Command& job,
                                                          const std::optional<Preamble>& preamble,
                                                          llvm::LLVMContext& context,
                                                          bool color, std::string& diagnostics,
                                                          std::vector<std::string>& inputs) {
  const bool with_pch = preamble && preamble->pch;
  const size_t diagnostics_before = diagnostics.size(), inputs_before = inputs.size();
  llvm::raw_string_ostream diagnostic_stream(diagnostics);
  llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> diagnostic_options =
      new clang::DiagnosticOptions();
  diagnostic_options->ShowColors = color;
  clang::TextDiagnosticPrinter printer(diagnostic_stream, diagnostic_options.get());
  FirstErrorWatcher watcher(printer);
  clang::DiagnosticsEngine invocation_diagnostics(
      llvm::IntrusiveRefCntPtr<clang::DiagnosticIDs>(new clang::DiagnosticIDs()),
      diagnostic_options, &watcher, /*ShouldOwnClient=*/false);
  auto compiler = std::make_unique<clang::CompilerInstance>();
  if (!clang::CompilerInvocation::CreateFromArgs(compiler->getInvocation(), job.getArguments(),
                                                 invocation_diagnostics)) {
    diagnostic_stream.flush();
    return absl::InvalidArgumentError("compilation failed");
  }
  if (with_pch) UsePrecompiledPreamble(compiler->getInvocation(), *preamble);
  // After the invocation exists: the engine takes its warning flags (-Wall, -w, ...) from it.
  compiler->createDiagnostics(&watcher, /*ShouldOwnClient=*/false);
  // "N errors generated." would otherwise go straight to the process's stderr.
  compiler->setVerboseOutputStream(diagnostic_stream);
  auto collector = std::make_shared<InputFileCollector>();
  compiler->addDependencyCollector(collector);
  clang::EmitLLVMOnlyAction action(&context);
  bool ok = compiler->ExecuteAction(action);
  for (const std::string& input : collector->getDependencies()) {
    // The files the PCH was built from are listed: the PCH itself is a cache, not an input.
    if (!with_pch || input != *preamble->pch) inputs.push_back(input);
  }
  diagnostic_stream.flush();
  if (!ok && with_pch && watcher.failed_before_source()) {
    // The PCH would not load (cut short, from another clang): forget it, compile without it.
    diagnostics.resize(diagnostics_before);
    inputs.resize(inputs_before);
    std::error_code error;
    std::filesystem::remove(*preamble->pch, error);
    return RunFrontend(job, std::nullopt, context, color, diagnostics, inputs);
  }
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
    const std::vector<const clang::driver::Command*>& jobs,
    const std::vector<std::optional<Preamble>>& preambles, llvm::LLVMContext& context,
    bool color, std::string& diagnostics, std::vector<std::string>& inputs) {
  std::vector<FrontendResult> results(jobs.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      FrontendResult& result = results[i];
      llvm::LLVMContext own_context;
      absl::StatusOr<std::unique_ptr<llvm::Module>> module =
          RunFrontend(*jobs[i], preambles[i], own_context, color, result.diagnostics,
                      result.inputs);
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

// For each job, the preamble whose PCH it can use (nullopt: none). Preambles met a second time
// without a PCH are built in the background, for the compiles to come (preamble_cache.h).
std::vector<std::optional<Preamble>> PlanPreambles(
    const std::vector<const clang::driver::Command*>& jobs, const std::string& directory) {
  std::vector<std::optional<Preamble>> preambles(jobs.size());
  if (directory.empty()) return preambles;
  PreambleCache cache(directory);
  std::vector<Preamble> to_build;
  for (size_t i = 0; i < jobs.size(); ++i) {
    std::vector<std::string> arguments(jobs[i]->getArguments().begin(),
                                       jobs[i]->getArguments().end());
    std::optional<Preamble> preamble = FindPreamble(arguments, cache);
    if (!preamble) continue;
    if (preamble->pch) {
      preambles[i] = std::move(preamble);
    } else if (cache.SeenBefore(preamble->key)) {
      to_build.push_back(*std::move(preamble));
    }
  }
  BuildPreamblesInBackground(to_build, cache);
  return preambles;
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
  std::vector<std::optional<Preamble>> preambles =
      PlanPreambles(jobs, options.preamble_cache_dir);
  if (jobs.size() > 1) {
    return RunFrontendsInParallel(jobs, preambles, context, options.color_diagnostics,
                                  diagnostics, inputs);
  }
  absl::StatusOr<std::unique_ptr<llvm::Module>> module =
      RunFrontend(*jobs.front(), preambles.front(), context, options.color_diagnostics,
                  diagnostics, inputs);
  if (!module.ok()) return module.status();
  std::vector<std::unique_ptr<llvm::Module>> modules;
  modules.push_back(*std::move(module));
  return modules;
}

}  // namespace rexec
