#include "compiler/precompiled_preamble.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/Version.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/FrontendActions.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <fcntl.h>
#include <llvm/Support/MemoryBuffer.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <memory>

#include "compiler/input_file_collector.h"
#include "core/fresh_child.h"

namespace rexec {
namespace {

// A builder starved of CPU for this long gives up; the next compile that misses tries again.
constexpr unsigned kBuilderSeconds = 120;

std::vector<const char*> Argv(const std::vector<std::string>& arguments) {
  std::vector<const char*> argv;
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());
  return argv;
}

// An invocation of `arguments`, its complaints dropped: the compile itself reports them.
bool CreateInvocation(clang::CompilerInvocation& invocation,
                      const std::vector<std::string>& arguments,
                      clang::DiagnosticConsumer& consumer) {
  llvm::IntrusiveRefCntPtr<clang::DiagnosticsEngine> diagnostics =
      clang::CompilerInstance::createDiagnostics(new clang::DiagnosticOptions(), &consumer,
                                                 /*ShouldOwnClient=*/false);
  return clang::CompilerInvocation::CreateFromArgs(invocation, Argv(arguments), *diagnostics);
}

// The one source file `invocation` compiles; nullopt for anything else (stdin, several inputs).
std::optional<std::string> SourceOf(const clang::CompilerInvocation& invocation) {
  const auto& inputs = invocation.getFrontendOpts().Inputs;
  if (inputs.size() != 1 || !inputs[0].isFile()) return std::nullopt;
  return inputs[0].getFile().str();
}

// Compiles the preamble alone, as the source's first bytes, into a PCH under `preamble.key`.
void Build(const Preamble& preamble, PreambleCache& cache) {
  clang::IgnoringDiagConsumer ignore;
  auto compiler = std::make_unique<clang::CompilerInstance>();
  if (!CreateInvocation(compiler->getInvocation(), preamble.arguments, ignore)) return;
  compiler->createDiagnostics(&ignore, /*ShouldOwnClient=*/false);
  const std::optional<std::string> source = SourceOf(compiler->getInvocation());
  if (!source) return;
  clang::FrontendOptions& frontend = compiler->getFrontendOpts();
  const std::string temporary = cache.TemporaryPath(preamble.key);
  frontend.OutputFile = temporary;
  frontend.ProgramAction = clang::frontend::GeneratePCH;
  clang::PreprocessorOptions& preprocessor = compiler->getPreprocessorOpts();
  // The preprocessor owns and frees the buffer.
  preprocessor.addRemappedFile(
      *source, llvm::MemoryBuffer::getMemBufferCopy(preamble.text, *source).release());
  // A preamble may end inside an #if: its state is saved for the compiles that load it.
  preprocessor.GeneratePreamble = true;
  auto collector = std::make_shared<InputFileCollector>();
  compiler->addDependencyCollector(collector);
  clang::GeneratePCHAction action;
  if (!compiler->ExecuteAction(action) || compiler->getDiagnostics().hasErrorOccurred()) {
    std::filesystem::remove(temporary);
    return;
  }
  std::vector<std::string> inputs;
  for (const std::string& input : collector->getDependencies()) {
    if (input != *source) inputs.push_back(input);
  }
  cache.Commit(preamble.key, temporary, inputs);
}

}  // namespace

std::optional<Preamble> FindPreamble(const std::vector<std::string>& arguments,
                                     const PreambleCache& cache) {
  clang::IgnoringDiagConsumer ignore;
  clang::CompilerInvocation invocation;
  if (!CreateInvocation(invocation, arguments, ignore)) return std::nullopt;
  const std::optional<std::string> source = SourceOf(invocation);
  if (!source) return std::nullopt;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> contents = llvm::MemoryBuffer::getFile(*source);
  if (!contents) return std::nullopt;
  const clang::PreambleBounds bounds =
      clang::Lexer::ComputePreamble((*contents)->getBuffer(), invocation.getLangOpts());
  const std::string_view text((*contents)->getBufferStart(), bounds.Size);
  if (text.find("include") == std::string_view::npos &&
      text.find("import") == std::string_view::npos) {
    return std::nullopt;  // nothing worth precompiling
  }
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(*source, error);
  if (error) return std::nullopt;
  ContentHasher hasher;
  hasher.Add("rexec preamble 1").Add(clang::getClangFullVersion()).Add(absolute.string());
  for (const std::string& argument : arguments) hasher.Add(argument);
  hasher.Add(text);
  Preamble preamble{hasher.Finish(), arguments, std::string(text),
                    bounds.PreambleEndsAtStartOfLine, std::nullopt};
  preamble.pch = cache.Find(preamble.key);
  return preamble;
}

void UsePrecompiledPreamble(clang::CompilerInvocation& invocation, const Preamble& preamble) {
  clang::PreprocessorOptions& preprocessor = invocation.getPreprocessorOpts();
  preprocessor.ImplicitPCHInclude = *preamble.pch;
  preprocessor.PrecompiledPreambleBytes = {static_cast<unsigned>(preamble.text.size()),
                                           preamble.ends_at_start_of_line};
  // The cache checked every file the PCH was built from (size, time, inode); clang would also
  // insist that the source be the one the PCH was built from, which it is not: only its
  // preamble is the same.
  preprocessor.DisablePCHOrModuleValidation = clang::DisableValidationForModuleKind::PCH;
}

void BuildPreamblesInBackground(const std::vector<Preamble>& preambles, PreambleCache& cache) {
  if (preambles.empty()) return;
  const pid_t child = fork();
  if (child < 0) return;
  if (child == 0) {
    // The builder is the child's child: orphaned at once, no one has to wait for it.
    if (fork() != 0) _exit(0);
    setsid();
    const int null = open("/dev/null", O_RDWR);
    PlaceDescriptors(std::array{null, null, null});
    CloseDescriptorsBut({STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO});
    sched_param idle{};
    sched_setscheduler(0, SCHED_IDLE, &idle);  // only time no one else wants
    alarm(kBuilderSeconds);
    for (const Preamble& preamble : preambles) Build(preamble, cache);
    _exit(0);
  }
  waitpid(child, nullptr, 0);
}

}  // namespace rexec
