#include "runtime/jit/compile_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "core/helper_binary.h"
#include "runtime/jit/object_compiler.h"
#include "tests/support/compile_source.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::CompileSource;

CompileProcessOptions ServerOptions(std::vector<std::string> args = {}) {
  CompileProcessOptions options;
  absl::StatusOr<std::string> path = FindHelperBinary("rexec-compile-server");
  EXPECT_TRUE(path.ok()) << path.status();
  options.server_path = path.value_or("");
  options.server_args = std::move(args);
  options.expected_fingerprint = (*ObjectCompiler::ForHost())->codegen_fingerprint();
  return options;
}

constexpr char kInlineAssembly[] =
    "int main() { unsigned lo, hi; __asm__ volatile(\"rdtsc\" : \"=a\"(lo), \"=d\"(hi)); "
    "__asm__ volatile(\"pause\"); return (lo | hi) == 0xdeadbeef; }";

TEST(CompileProcessTest, CompilesBitcodeToAnElfObjectAndStaysUp) {
  CompileProcess compiler(ServerOptions());
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> object = compiler.Compile(CompileSource(kInlineAssembly).bitcode);
    ASSERT_TRUE(object.ok()) << object.status();
    EXPECT_THAT(*object, StartsWith("\x7f" "ELF"));
  }
}

// With the asm parser deliberately missing, inline assembly is a fatal error in code
// generation: that compile fails with LLVM's message, and the next one gets a new server.
TEST(CompileProcessTest, AFatalErrorFailsOneCompileAndTheNextGetsANewServer) {
  CompileProcess compiler(ServerOptions({"--without-asm-parser"}));
  ASSERT_TRUE(compiler.Compile(CompileSource("int main() { return 0; }").bitcode).ok());
  const pid_t first_server = compiler.server_pid();

  absl::StatusOr<std::string> object = compiler.Compile(CompileSource(kInlineAssembly).bitcode);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(object.status().message(), HasSubstr("LLVM ERROR: Inline asm not supported"));

  EXPECT_TRUE(compiler.Compile(CompileSource("int main() { return 1; }").bitcode).ok());
  EXPECT_NE(compiler.server_pid(), first_server);
}

// The worker's default: the server runs inside the job sandbox, found by descriptor although its
// path is out of the sandbox's sight; a fatal error there is still a message.
TEST(CompileProcessTest, AServerInsideTheSandboxCompilesAndReportsFatalErrors) {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = Sandbox::Create({});
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  CompileProcessOptions options = ServerOptions({"--without-asm-parser"});
  options.sandbox = sandbox->get();
  CompileProcess compiler(options);
  absl::StatusOr<std::string> object =
      compiler.Compile(CompileSource("int main() { return 0; }").bitcode);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_THAT(*object, StartsWith("\x7f" "ELF"));
  object = compiler.Compile(CompileSource(kInlineAssembly).bitcode);
  EXPECT_THAT(object.status().message(), HasSubstr("LLVM ERROR: Inline asm not supported"));
}

TEST(CompileProcessTest, AServerKilledBetweenCompilesIsReplaced) {
  CompileProcess compiler(ServerOptions());
  std::string bitcode = CompileSource("int main() { return 0; }").bitcode;
  ASSERT_TRUE(compiler.Compile(bitcode).ok());
  kill(compiler.server_pid(), SIGKILL);
  // The compile sent to the dead server fails with how it ended; the next one starts afresh.
  absl::StatusOr<std::string> lost = compiler.Compile(bitcode);
  EXPECT_THAT(lost.status().message(), HasSubstr("signal 9"));
  EXPECT_TRUE(compiler.Compile(bitcode).ok());
}

TEST(CompileProcessTest, AServerBuiltForOtherCodegenSettingsIsRefused) {
  CompileProcessOptions options = ServerOptions();
  options.expected_fingerprint = "llvm=0.0;triple=elsewhere";
  CompileProcess compiler(options);
  absl::StatusOr<std::string> object = compiler.Compile(CompileSource("int main() {}").bitcode);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(object.status().message(), HasSubstr("install matching builds"));
}

TEST(CompileProcessTest, AMissingServerBinaryIsAClearError) {
  CompileProcessOptions options = ServerOptions();
  options.server_path = "/nonexistent/rexec-compile-server";
  CompileProcess compiler(options);
  absl::StatusOr<std::string> object = compiler.Compile(CompileSource("int main() {}").bitcode);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(object.status().message(), HasSubstr("did not start"));
}

}  // namespace
}  // namespace rexec
