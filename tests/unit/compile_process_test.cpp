#include "runtime/jit/compile_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

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
  return options;
}

// A stand-in server (a shell script, for sh -c) that describes a target of its own choosing:
// `first` the first time it is started, `later` every time after.
std::string FakeServerScript(const std::filesystem::path& directory, std::string_view first,
                             std::string_view later) {
  auto frame = [](std::string_view payload) {
    std::string octal = "\\001";
    uint64_t size = payload.size();
    for (int i = 0; i < 8; ++i) octal += absl::StrFormat("\\%03o", (size >> (8 * i)) & 0xff);
    for (unsigned char c : payload) octal += absl::StrFormat("\\%03o", c);
    return octal;
  };
  const std::string started = (directory / "started").string();
  return absl::StrCat("if [ -e ", started, " ]; then printf '", frame(later), "'; else touch ",
                      started, "; printf '", frame(first), "'; fi; exec cat >/dev/null");
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

// The worker learns its target from the server, without loading LLVM itself.
TEST(CompileProcessTest, DescribesTheTargetCodeIsGeneratedFor) {
  CompileProcess compiler(ServerOptions());
  absl::StatusOr<TargetDescription> target = compiler.Describe();
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(*target, (*ObjectCompiler::ForHost())->target());
  EXPECT_THAT(target->codegen_fingerprint, HasSubstr("triple=" + target->triple));
}

// A server replaced by a build for other codegen settings would fill the object cache under the
// first one's key: it is refused.
TEST(CompileProcessTest, ALaterServerForAnotherTargetIsRefused) {
  const std::filesystem::path directory = ::testing::TempDir() + "/fake-server";
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  std::string first("x86_64-linux\0dl\0cpu\0+f\0llvm=19;one\0", 35);
  std::string later("x86_64-linux\0dl\0cpu\0+f\0llvm=20;two\0", 35);
  CompileProcessOptions options;
  options.server_path = "/bin/sh";
  options.server_args = {"-c", FakeServerScript(directory, first, later)};
  CompileProcess compiler(options);
  absl::StatusOr<TargetDescription> target = compiler.Describe();
  ASSERT_TRUE(target.ok()) << target.status();
  EXPECT_EQ(target->codegen_fingerprint, "llvm=19;one");

  kill(compiler.server_pid(), SIGKILL);
  EXPECT_FALSE(compiler.Compile("bitcode").ok());  // sent to the dead server
  absl::StatusOr<std::string> object = compiler.Compile("bitcode");
  EXPECT_EQ(object.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(object.status().message(), HasSubstr("now generates code for 'llvm=20;two'"));
  EXPECT_EQ(compiler.Describe()->codegen_fingerprint, "llvm=19;one");
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
