// rexec-send's bitcode cache: a warm run skips compiling, never runs code that no longer matches
// the sources and headers on disk, and maps neither clang nor LLVM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/read_file.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMain[] = R"(#include <cstdio>
#include "value.h"
int main() { std::printf("value=%d\n", VALUE); return 0; }
)";

std::string Header(int value) { return "#define VALUE " + std::to_string(value) + "\n"; }

// A program in a fresh directory: main.cpp includes "value.h", found through -Iinc unless an
// earlier directory has one.
class SendCacheTest : public SharedWorkerTest {
 protected:
  void SetUp() override {
    SharedWorkerTest::SetUp();
    dir_.Write("main.cpp", kMain);
    dir_.Write("inc/value.h", Header(1));
  }

  ProcessResult Run(std::vector<std::string> flags) {
    flags.push_back("main.cpp");
    ProcessOptions options;
    options.working_dir = dir_.path().string();
    return Send(flags, options);
  }

  // Runs with `flags` and expects the program to print `value`.
  void ExpectValue(const std::vector<std::string>& flags, int value) {
    ProcessResult result = Run(flags);
    EXPECT_EQ(result.exit_code, 0) << result;
    EXPECT_EQ(result.stdout_text, "value=" + std::to_string(value) + "\n") << result;
  }

  TempDir dir_;
};

TEST_F(SendCacheTest, UnchangedSourcesAreNotCompiledAgain) {
  ProcessResult cold = Run({"-v", "-Iinc"});
  EXPECT_EQ(cold.exit_code, 0) << cold;
  EXPECT_THAT(cold.stderr_text, Not(HasSubstr("compile cache hit"))) << cold;
  ProcessResult warm = Run({"-v", "-Iinc"});
  EXPECT_EQ(warm.exit_code, 0) << warm;
  EXPECT_EQ(warm.stdout_text, "value=1\n") << warm;
  EXPECT_THAT(warm.stderr_text, HasSubstr("rexec: compile cache hit")) << warm;
}

TEST_F(SendCacheTest, EditedSourceIsCompiledAgain) {
  ExpectValue({"-Iinc"}, 1);
  dir_.Write("main.cpp", std::string(kMain) + "// edited\n");
  ProcessResult result = Run({"-v", "-Iinc"});
  EXPECT_THAT(result.stderr_text, Not(HasSubstr("compile cache hit"))) << result;
}

TEST_F(SendCacheTest, EditedHeaderIsCompiledAgain) {
  ExpectValue({"-Iinc"}, 1);
  dir_.Write("inc/value.h", Header(2));  // same size
  ExpectValue({"-Iinc"}, 2);
  dir_.Write("inc/value.h", Header(345));
  ExpectValue({"-Iinc"}, 345);
}

TEST_F(SendCacheTest, HeaderCreatedInAnEarlierIncludeDirectoryIsUsed) {
  std::filesystem::create_directories(dir_.path() / "first");
  ExpectValue({"-Ifirst", "-Iinc"}, 1);
  dir_.Write("first/value.h", Header(50));
  ExpectValue({"-Ifirst", "-Iinc"}, 50);
}

TEST_F(SendCacheTest, HeaderCreatedNextToTheSourceIsUsed) {
  ExpectValue({"-Iinc"}, 1);
  dir_.Write("value.h", Header(77));  // #include "..." looks beside main.cpp before -I
  ExpectValue({"-Iinc"}, 77);
}

// The compiler runs in a process of its own (compiler/compiler_process.h) and the worker maps no
// LLVM either, so a warm run, through a worker or an embedded one, loads neither library: read
// from rexec-send's own /proc/PID/maps while its program waits for more input.
TEST_F(SendCacheTest, AWarmRunMapsNeitherClangNorLlvm) {
  for (bool embedded : {false, true}) {
    SCOPED_TRACE(embedded ? "embedded worker" : "--worker");
    std::vector<std::string> args;
    if (!embedded) args = {"--worker", worker().address()};
    args.push_back(ProgramPath("echo_lines.cpp"));
    ProcessOptions cold_options;
    cold_options.stdin_data = "cold\n";
    ProcessResult cold = RunSend(args, cold_options);  // fills the bitcode cache
    ASSERT_EQ(cold.exit_code, 0) << cold;

    ProcessOptions warm_options;
    warm_options.keep_stdin_open = true;
    Subprocess warm(SendCommand(args), SendOptions(warm_options));
    ASSERT_TRUE(warm.started()) << warm.error();
    warm.WriteStdin("first\n");
    ASSERT_TRUE(warm.WaitForOutput(Stream::kStdout, "echo: first\n", milliseconds(30'000)))
        << warm.output(Stream::kStderr);
    const std::string maps = ReadFile("/proc/" + std::to_string(warm.pid()) + "/maps");
    EXPECT_THAT(maps, HasSubstr("rexec-send"));  // the control: these are its maps
    EXPECT_THAT(maps, Not(HasSubstr("libclang")));
    EXPECT_THAT(maps, Not(HasSubstr("libLLVM")));
    warm.CloseStdin();
    ProcessResult result = warm.Wait(milliseconds(30'000));
    EXPECT_EQ(result.exit_code, 0) << result;
    EXPECT_THAT(result.stdout_text, HasSubstr("end of input after 1 line(s)")) << result;
  }
}

}  // namespace
}  // namespace rexec::testing
