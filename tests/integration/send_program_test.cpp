// rexec-send runs real programs on a real rexec-worker: how the worker is chosen, compile flags,
// arguments and stdin, C sources, output streaming, and the runtime features programs rely on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/integration/loopback.h"
#include "tests/integration/read_file.h"
#include "tests/integration/send_command.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/subprocess.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kHelloOutput[] = "hello from rexec\n";

// What tests/programs/multi_file prints about its stdin.
std::string StdinSummary(const std::string& input) {
  uint64_t lines = 0, hash = 14695981039346656037ull;
  for (unsigned char c : input) {
    if (c == '\n') ++lines;
    hash = (hash ^ c) * 1099511628211ull;
  }
  char summary[128];
  std::snprintf(summary, sizeof summary, "stdin lines=%llu bytes=%zu fnv1a=%016llx\n",
                static_cast<unsigned long long>(lines), input.size(),
                static_cast<unsigned long long>(hash));
  return summary;
}

class SendProgramTest : public SharedWorkerTest {
 protected:
  // Runs tests/programs/multi_file/main.cpp and util.cpp from that directory, so that the
  // relative -Iinc and source paths are resolved like a user's.
  static ProcessResult SendMultiFile(std::vector<std::string> flags,
                                     const std::vector<std::string>& program_args,
                                     std::string stdin_data) {
    flags.insert(flags.end(), {"-DN=5", "-Iinc", "main.cpp", "util.cpp", "--"});
    flags.insert(flags.end(), program_args.begin(), program_args.end());
    ProcessOptions options;
    options.working_dir = ProgramPath("multi_file");
    options.stdin_data = std::move(stdin_data);
    return Send(flags, std::move(options));
  }

  // Runs a program twice on the same worker; both runs must behave as a fresh process would,
  // so a global left over from the first run shows up as a difference in the second.
  static void ExpectSameRunTwice(const std::vector<std::string>& args, int exit_code,
                                 const std::string& expected_stdout) {
    for (int run = 1; run <= 2; ++run) {
      SCOPED_TRACE("run " + std::to_string(run));
      ProcessResult result = Send(args);
      EXPECT_EQ(result.exit_code, exit_code) << result;
      EXPECT_EQ(result.stdout_text, expected_stdout);
      EXPECT_EQ(result.stderr_text, "");
    }
  }
};

// --- choosing the worker ---

TEST_F(SendProgramTest, RunsHelloOnTheWorkerGivenWithWorkerFlag) {
  ProcessResult result = Send({ProgramPath("hello.cpp")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, kHelloOutput) << result;
  EXPECT_EQ(result.stderr_text, "") << result;
}

TEST_F(SendProgramTest, RunsHelloOnTheWorkerNamedByRexecWorkerEnvironment) {
  ProcessOptions options;
  options.env = {{"REXEC_WORKER", worker().address()}};
  ProcessResult result = RunSend({ProgramPath("hello.cpp")}, options);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, kHelloOutput) << result;

  // And it really goes there: pointed at a dead port, it cannot run at all.
  std::string dead = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  options.env = {{"REXEC_WORKER", dead}};
  ProcessResult unreachable = RunSend({ProgramPath("hello.cpp")}, options);
  EXPECT_EQ(unreachable.exit_code, 255) << unreachable;
  EXPECT_THAT(unreachable.stderr_text, StartsWith("rexec: cannot reach worker at " + dead + ": "));
}

TEST_F(SendProgramTest, WorkerFlagOverridesRexecWorkerEnvironment) {
  ProcessOptions options;
  options.env = {{"REXEC_WORKER", "127.0.0.1:" + std::to_string(UnusedLoopbackPort())}};
  ProcessResult result = Send({ProgramPath("hello.cpp")}, options);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, kHelloOutput) << result;
}

TEST_F(SendProgramTest, RunsHelloOnAnEmbeddedWorkerWhenNoWorkerIsGiven) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "home");
  ProcessOptions options;
  options.env = {{"XDG_CACHE_HOME", (dir.path() / "cache").string()},
                 {"HOME", (dir.path() / "home").string()}};
  ProcessResult result = RunSend({ProgramPath("hello.cpp")}, options);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, kHelloOutput) << result;
  EXPECT_EQ(result.stderr_text, "") << result;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "home"))
      << "with $XDG_CACHE_HOME set, nothing may be written under $HOME";
}

// --- compile flags, arguments, stdin ---

TEST_F(SendProgramTest, LinksTwoSourcesWithMacroIncludeDirArgsAndStdin) {
  std::string input = ReadFile(ProgramPath("multi_file/input.txt"));
  ASSERT_FALSE(input.empty());
  ProcessResult result = SendMultiFile({"-O2", "-std=c++20"}, {"arg1", "arg2"}, input);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "N=5\n__cplusplus=202002\noptimized\nargc=3\narg=arg1\narg=arg2\n" +
                                    StdinSummary(input))
      << result;
  EXPECT_EQ(result.stderr_text, "") << result;
}

TEST_F(SendProgramTest, PassesArgumentsAfterDoubleDashVerbatim) {
  ProcessResult result =
      SendMultiFile({"-std=c++20"}, {"two words", "", "--worker", "-O0", "ünïcode"}, "");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text,
              HasSubstr("argc=6\narg=two words\narg=\narg=--worker\narg=-O0\narg=ünïcode\n"))
      << result;
}

TEST_F(SendProgramTest, ReadsMegabytesOfStdinUntilEndOfFile) {
  std::string input;
  for (int i = 0; input.size() < 3 * 1024 * 1024; ++i) {
    input += "line " + std::to_string(i) + " of a stdin bigger than any single chunk\n";
  }
  input += "last line without newline";
  ProcessResult result = SendMultiFile({"-std=c++20"}, {}, input);
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_THAT(result.stdout_text, HasSubstr(StdinSummary(input)));
}

TEST_F(SendProgramTest, EmptyStdinIsEndOfFileAtOnce) {
  ProcessResult result = SendMultiFile({"-std=c++20"}, {}, "");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr(StdinSummary(""))) << result;
}

// /dev/null as stdin is said in the job (Program.noInput): the worker asks the client for none.
TEST_F(SendProgramTest, StdinFromDevNullIsEndOfFileAtOnce) {
  ProcessOptions options;
  options.working_dir = ProgramPath("multi_file");
  options.stdin_file = "/dev/null";
  ProcessResult result =
      Send({"-std=c++20", "-DN=5", "-Iinc", "main.cpp", "util.cpp"}, std::move(options));
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr(StdinSummary(""))) << result;
}

TEST_F(SendProgramTest, OptimizationFlagsReachTheCompiler) {
  ProcessResult o0 = SendMultiFile({"-O0", "-g", "-std=c++20"}, {}, "");
  EXPECT_EQ(o0.exit_code, 0) << o0;
  EXPECT_THAT(o0.stdout_text, HasSubstr("\nnot optimized\n")) << o0;

  ProcessResult o2 = SendMultiFile({"-O2", "-g", "-std=c++20"}, {}, "");
  EXPECT_EQ(o2.exit_code, 0) << o2;
  EXPECT_THAT(o2.stdout_text, HasSubstr("\noptimized\n")) << o2;
}

TEST_F(SendProgramTest, StdFlagSelectsTheLanguageVersion) {
  ProcessResult result = SendMultiFile({"-std=c++23"}, {}, "");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("__cplusplus=202302\n")) << result;
}

TEST_F(SendProgramTest, DefineAndUndefineFlagsReachThePreprocessor) {
  ProcessResult result = Send(
      {"-DREMOVED", "-UREMOVED", "-DVALUE=\"from the command line\"", ProgramPath("macros.cpp")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "VALUE=from the command line\n") << result;
}

TEST_F(SendProgramTest, WallReportsWarningsAndWSilencesThem) {
  ProcessResult wall = Send({"-Wall", ProgramPath("warnings.cpp")});
  EXPECT_EQ(wall.exit_code, 0) << wall;
  EXPECT_EQ(wall.stdout_text, "warnings program ran\n") << wall;
  EXPECT_THAT(wall.stderr_text,
              HasSubstr("warnings.cpp:5:7: warning: unused variable 'unused_variable_for_wall'"))
      << wall;

  ProcessResult silenced = Send({"-Wall", "-w", ProgramPath("warnings.cpp")});
  EXPECT_EQ(silenced.exit_code, 0) << silenced;
  EXPECT_EQ(silenced.stdout_text, "warnings program ran\n") << silenced;
  EXPECT_THAT(silenced.stderr_text, Not(HasSubstr("warning"))) << silenced;
}

TEST_F(SendProgramTest, CompilesDotCSourcesAsC) {
  ProcessResult result = Send({ProgramPath("c_only.c")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, MatchesRegex("compiled as C[0-9]+: 42\n")) << result;
}

TEST_F(SendProgramTest, InlineAssemblyRunsAndTheWorkerServesOn) {
  // Once this aborted the whole worker: LLVM had no asm parser to emit inline assembly with.
  ProcessResult result = Send({ProgramPath("inline_asm.c")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "tsc is ticking\n") << result;
  ProcessResult next = Send({ProgramPath("hello.cpp")});
  EXPECT_EQ(next.exit_code, 0) << next;
}

TEST_F(SendProgramTest, LinksCAndCppSourcesIntoOneProgram) {
  ProcessResult result =
      Send({ProgramPath("mixed_language/main.cpp"), ProgramPath("mixed_language/helper.c")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "c_helper(21)=42\n") << result;
}

// --- streaming ---

TEST_F(SendProgramTest, StdinIsPulledAsTheProgramReadsIt) {
  ProcessOptions options;
  options.keep_stdin_open = true;
  Subprocess send(SendCommand({"--worker", worker().address(), ProgramPath("echo_lines.cpp")}),
                  SendOptions(options));
  ASSERT_TRUE(send.started()) << send.error();
  send.WriteStdin("ping 1\n");
  // The first answer arrives while stdin is still open: the program did not wait for all of it.
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "echo: ping 1\n", milliseconds(60'000)))
      << "stdout: " << send.output(Stream::kStdout) << "\nstderr: " << send.output(Stream::kStderr);
  send.WriteStdin("ping 2\n");
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "echo: ping 2\n", milliseconds(5000)))
      << "stdout: " << send.output(Stream::kStdout);
  EXPECT_THAT(send.output(Stream::kStdout), Not(HasSubstr("end of input")));
  send.CloseStdin();
  ProcessResult result = send.Wait(milliseconds(10'000));
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "echo: ping 1\necho: ping 2\nend of input after 2 line(s)\n")
      << result;
}

TEST_F(SendProgramTest, ProgramThatIgnoresStdinEndsWithoutWaitingForItsEnd) {
  ProcessOptions options;
  options.keep_stdin_open = true;  // like a terminal nobody types into
  Subprocess send(SendCommand({"--worker", worker().address(), ProgramPath("hello.cpp")}),
                  SendOptions(options));
  ASSERT_TRUE(send.started()) << send.error();
  ProcessResult result = send.Wait(milliseconds(30'000));
  EXPECT_FALSE(result.timed_out) << "rexec-send waited for the end of stdin: " << result;
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, kHelloOutput) << result;
}

TEST_F(SendProgramTest, BinaryOutputArrivesByteForByte) {
  std::string expected;
  uint32_t state = 1;
  for (int i = 0; i < 8 << 20; ++i) {
    state = state * 1103515245u + 12345u;
    expected += static_cast<char>(state >> 16);
  }
  ProcessResult result = Send({ProgramPath("binary_output.cpp")});
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_EQ(result.stderr_text, "wrote 8 MiB\n");
  ASSERT_EQ(result.stdout_text.size(), expected.size());
  EXPECT_TRUE(result.stdout_text == expected) << "the bytes differ";
}

TEST_F(SendProgramTest, StdoutAndStderrReachTheClientWhileTheProgramRuns) {
  const std::string expected_stdout =
      "stdout printf before sleep\nstdout cout before sleep\nstdout after sleep\n";
  const std::string expected_stderr =
      "stderr fprintf before sleep\nstderr cerr before sleep\nstderr after sleep\n";
  // The first run compiles and caches the module on both sides, so the timed run below measures
  // streaming, not compiling.
  ProcessResult warm_up = Send({ProgramPath("streaming.cpp")});
  ASSERT_EQ(warm_up.exit_code, 0) << warm_up;
  ASSERT_EQ(warm_up.stdout_text, expected_stdout) << warm_up;
  ASSERT_EQ(warm_up.stderr_text, expected_stderr) << warm_up;

  constexpr milliseconds kFirstLinesDeadline{1500};
  Subprocess send(SendCommand({"--worker", worker().address(), ProgramPath("streaming.cpp")}),
                  SendOptions());
  ASSERT_TRUE(send.started()) << send.error();
  auto start = steady_clock::now();
  EXPECT_TRUE(
      send.WaitForOutput(Stream::kStdout, "stdout cout before sleep\n", kFirstLinesDeadline))
      << "stdout so far: " << send.output(Stream::kStdout);
  EXPECT_TRUE(
      send.WaitForOutput(Stream::kStderr, "stderr cerr before sleep\n", kFirstLinesDeadline))
      << "stderr so far: " << send.output(Stream::kStderr);
  EXPECT_LT(steady_clock::now() - start, kFirstLinesDeadline);
  EXPECT_THAT(send.output(Stream::kStdout), Not(HasSubstr("after sleep")));

  ProcessResult result = send.Wait(milliseconds(30'000));
  EXPECT_GE(steady_clock::now() - start, milliseconds(2000));
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, expected_stdout) << result;
  EXPECT_EQ(result.stderr_text, expected_stderr) << result;
}

// --- what real programs rely on; each runs twice to show every run starts fresh ---

TEST_F(SendProgramTest, GlobalConstructorsDestructorsAtexitAndLocalStaticsOnReturn) {
  ExpectSameRunTwice({ProgramPath("lifecycle.cpp")}, 0,
                     "global constructor\n"
                     "main_calls=1 local_static=103 initialised 1 time(s)\n"
                     "atexit handler (main_calls=1)\n"
                     "global destructor (main_calls=1)\n");
}

TEST_F(SendProgramTest, ExitFromDeepInTheCallStackRunsAtexitAndDestructorsAndFlushes) {
  ExpectSameRunTwice({ProgramPath("lifecycle.cpp"), "--", "exit", "3"}, 3,
                     "global constructor\n"
                     "main_calls=1 local_static=103 initialised 1 time(s)\n"
                     "unflushed tail without newline"
                     "atexit handler (main_calls=1)\n"
                     "global destructor (main_calls=1)\n");
}

TEST_F(SendProgramTest, ExceptionsAreThrownAndCaught) {
  ExpectSameRunTwice({ProgramPath("exceptions.cpp")}, 0,
                     "unwound innermost\n"
                     "unwound outer\n"
                     "caught by base: thrown from depth (code 7)\n"
                     "caught out_of_range from libstdc++\n"
                     "caught invalid_argument from stoi\n"
                     "rethrowing\n"
                     "caught rethrown int 42\n"
                     "throws_caught=4\n");
}

TEST_F(SendProgramTest, ThreadsEachHaveTheirOwnThreadLocal) {
  ExpectSameRunTwice({ProgramPath("threads.cpp")}, 0,
                     "thread 0 saw thread_local=1\n"
                     "thread 1 saw thread_local=1001\n"
                     "thread 2 saw thread_local=2001\n"
                     "thread 3 saw thread_local=3001\n"
                     "main thread_local=0 total=6004 runs=1\n");
}

TEST_F(SendProgramTest, RegexChronoRandomMapsIostreamsAndPrintfWork) {
  ExpectSameRunTwice({"-std=c++20", ProgramPath("standard_library.cpp")}, 0,
                     "regex alpha -> 1\n"
                     "regex beta -> 22\n"
                     "regex gamma -> 333\n"
                     "regex_replace: alpha=#, beta=#, gamma=#\n"
                     "chrono slept at least 20 ms: yes\n"
                     "chrono system_clock year after 2020: yes\n"
                     "mt19937 10000th=4123659995\n"
                     "uniform_int_distribution in range: yes\n"
                     "map in order: apple:1 fig:2 pear:3 \n"
                     "unordered_map a=3 b=2 c=1 size=3\n"
                     "iostream ....42|ff|2.500\n"
                     "snprintf [ 3.14|42  |ff|str]\n"
                     "fprintf 00042\n"
                     "puts line\n"
                     "fputs line\n"
                     "!\n"
                     "runs=1\n");
}

TEST_F(SendProgramTest, QuickExitRunsOnlyAtQuickExitHandlers) {
  ExpectSameRunTwice({ProgramPath("quick_exit.cpp")}, 9, "at_quick_exit handler\n");
}

TEST_F(SendProgramTest, PthreadAtforkHandlersRunAroundTheProgramsOwnFork) {
  ExpectSameRunTwice({ProgramPath("fork_handlers.cpp")}, 0,
                     "child: prepare=1 child=1\n"
                     "parent: prepare=1 parent=1 child=0, child exited 0\n");
}

TEST_F(SendProgramTest, SetjmpAndLongjmpWorkInC) {
  ExpectSameRunTwice({ProgramPath("long_jump.c")}, 0,
                     "longjmp returned 17 after 1 jump(s)\nruns=1\n");
}

}  // namespace
}  // namespace rexec::testing
