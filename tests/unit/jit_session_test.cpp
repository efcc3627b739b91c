#include "runtime/jit/jit_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/exec/child_runtime.h"
#include "runtime/jit/object_compiler.h"
#include "tests/support/compile_source.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;
using testing::CompileSource;

class JitSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiler = ObjectCompiler::ForHost();
    ASSERT_TRUE(compiler.ok()) << compiler.status();
    compiler_ = std::move(*compiler);
    auto session = JitSession::Create(ChildRuntimeSymbols());
    ASSERT_TRUE(session.ok()) << session.status();
    session_ = std::move(*session);
  }

  absl::StatusOr<std::shared_ptr<LinkedModule>> Link(const std::string& source) {
    Module module = CompileSource(source);
    absl::StatusOr<std::string> object = compiler_->Compile(module.bitcode);
    if (!object.ok()) return object.status();
    return session_->Link(module.hash, *object);
  }

  // Runs main() in a forked child, as the executor does; returns the wait status.
  static int RunInChild(const LinkedModule& module) {
    pid_t pid = fork();
    if (pid == 0) {
      module.init()();
      char name[] = "test";
      char* argv[] = {name, nullptr};
      ExitChild(module.main()(1, argv, nullptr));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  }

  std::unique_ptr<ObjectCompiler> compiler_;
  std::shared_ptr<JitSession> session_;
};

TEST_F(JitSessionTest, LinksAndResolvesEntryPoints) {
  auto linked = Link("int main() { return 7; }");
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_NE((*linked)->init(), nullptr);
  ASSERT_NE((*linked)->main(), nullptr);
  int status = RunInChild(**linked);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST_F(JitSessionTest, StaticConstructorsRunFromInitAndExitRunsHandlers) {
  // The constructor sets the exit code; an atexit handler changes nothing visible but must not
  // crash; exit() from main goes through the child runtime.
  auto linked = Link(R"(
    #include <cstdlib>
    static int code = 1;
    struct Init { Init() { code = 5; } } init;
    int main() { std::atexit([] {}); std::exit(code); }
  )");
  ASSERT_TRUE(linked.ok()) << linked.status();
  int status = RunInChild(**linked);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 5);
}

TEST_F(JitSessionTest, UndefinedSymbolsAreNamedLikeALinkerWould) {
  auto linked = Link("int foo(int);\nint main() { return foo(1); }");
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(linked.status().message()),
              HasSubstr("undefined symbol: foo(int) (_Z3fooi)"));
}

TEST_F(JitSessionTest, TheWorkersOwnSymbolsAreNotVisibleToUserCode) {
  // LLVM is loaded in this process, but a program must only see the C and C++ runtimes.
  auto linked = Link("extern \"C\" void LLVMShutdown();\nint main() { LLVMShutdown(); }");
  ASSERT_FALSE(linked.ok());
  EXPECT_THAT(std::string(linked.status().message()), HasSubstr("undefined symbol: LLVMShutdown"));
}

TEST_F(JitSessionTest, SessionKeepsServingAfterAFailedLink) {
  ASSERT_FALSE(Link("int foo();\nint main() { return foo(); }").ok());
  EXPECT_TRUE(Link("int main() { return 0; }").ok());
}

TEST(ObjectCompilerTest, RefusesGarbageAndForeignTargets) {
  auto compiler = ObjectCompiler::ForHost();
  ASSERT_TRUE(compiler.ok());
  EXPECT_EQ((*compiler)->Compile("definitely not bitcode").status().code(),
            absl::StatusCode::kInvalidArgument);

  testing::TempDir dir;
  std::string diagnostics;
  auto foreign = CompileToBitcode(
      {{dir.Write("a.c", "int main(void) { return 0; }\n")}, {}, "aarch64-unknown-linux-gnu", false,
       ""},
      diagnostics);
  ASSERT_TRUE(foreign.ok()) << foreign.status() << diagnostics;
  auto object = (*compiler)->Compile(foreign->bitcode);
  EXPECT_EQ(object.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(object.status().message()), HasSubstr("aarch64"));
}

TEST(ObjectCompilerTest, FingerprintNamesEverythingThatShapesTheCode) {
  auto compiler = ObjectCompiler::ForHost();
  ASSERT_TRUE(compiler.ok());
  const std::string& fingerprint = (*compiler)->codegen_fingerprint();
  EXPECT_THAT(fingerprint, HasSubstr("llvm=19"));
  EXPECT_THAT(fingerprint, HasSubstr((*compiler)->target().cpu));
  EXPECT_THAT(fingerprint, HasSubstr("prep="));
}

}  // namespace
}  // namespace rexec
