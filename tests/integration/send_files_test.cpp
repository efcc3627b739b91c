// rexec-send --input and --output against a real rexec-worker, sandboxed and not: programs that
// read files from their working directory, directories in and files back, the content-addressed
// upload (one missing-check for a tree, nothing uploaded twice, large files in bounded memory),
// and every refusal. Real multi-file programs from tests/programs/files run natively too, and
// must behave the same.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/read_file.h"
#include "tests/integration/send_command.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

uint64_t Counter(const WorkerProcess& worker, const std::string& name) {
  std::map<std::string, std::string> stats = worker.Stats();
  return stats.count(name) ? std::stoull(stats[name]) : 0;
}

// A value from /proc/PID/status, in kB ("VmHWM").
uint64_t ProcStatusKb(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1));
  }
  return 0;
}

// Builds `sources` (in `directory`) with clang++-19 into `binary`.
void CompileNatively(const std::string& directory, const std::vector<std::string>& sources,
                     const std::string& binary) {
  std::vector<std::string> command = {"/usr/bin/clang++-19", "-std=c++20", "-O1", "-o", binary};
  command.insert(command.end(), sources.begin(), sources.end());
  ProcessOptions options;
  options.working_dir = directory;
  options.timeout = milliseconds(120'000);
  ProcessResult built = RunProcess(command, options);
  ASSERT_EQ(built.exit_code, 0) << built;
}

class SendFilesTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    sandboxed_ = std::make_unique<WorkerProcess>(std::vector<std::string>{"--sandbox", "on"});
    unsandboxed_ = std::make_unique<WorkerProcess>(std::vector<std::string>{"--sandbox", "off"});
  }
  static void TearDownTestSuite() {
    sandboxed_.reset();
    unsandboxed_.reset();
  }
  void SetUp() override { ASSERT_TRUE(worker().started()) << worker().log(); }

  static const WorkerProcess& worker() { return GetParam() ? *sandboxed_ : *unsandboxed_; }

  // rexec-send --worker <this suite's worker> args..., in `directory`.
  static ProcessResult Send(const std::string& directory, const std::vector<std::string>& args,
                            std::string stdin_data = "") {
    std::vector<std::string> with_worker = {"--worker", worker().address()};
    with_worker.insert(with_worker.end(), args.begin(), args.end());
    ProcessOptions options;
    options.working_dir = directory;
    options.stdin_data = std::move(stdin_data);
    options.timeout = milliseconds(180'000);
    return RunSend(with_worker, options);
  }

  // The program run natively in `directory`: what rexec must reproduce.
  static ProcessResult RunNative(const std::string& binary, const std::string& directory,
                                 const std::vector<std::string>& args,
                                 std::string stdin_data = "") {
    std::vector<std::string> command = {binary};
    command.insert(command.end(), args.begin(), args.end());
    ProcessOptions options;
    options.working_dir = directory;
    options.stdin_data = std::move(stdin_data);
    return RunProcess(command, options);
  }

  TempDir temp_;

 private:
  static inline std::unique_ptr<WorkerProcess> sandboxed_;
  static inline std::unique_ptr<WorkerProcess> unsandboxed_;
};

// --- programs that read files from their working directory ---

TEST_P(SendFilesTest, SolverReadsItsProblemFileLikeNatively) {
  const std::string dir = ProgramPath("files/sat_solver");
  const std::string native = (temp_.path() / "solver").string();
  CompileNatively(dir, {"solver.cpp", "dimacs.cpp"}, native);
  for (const char* problem : {"small.cnf", "unsat.cnf"}) {
    SCOPED_TRACE(problem);
    ProcessResult expected = RunNative(native, dir, {"-verbosity=0", problem});
    ProcessResult remote = Send(dir, {"solver.cpp", "dimacs.cpp", "--input", problem, "--",
                                      "-verbosity=0", problem});
    EXPECT_EQ(remote.exit_code, expected.exit_code) << remote;
    EXPECT_EQ(remote.stdout_text, expected.stdout_text) << remote;
    EXPECT_EQ(remote.stderr_text, expected.stderr_text) << remote;
  }
  EXPECT_THAT(RunNative(native, dir, {"-verbosity=0", "small.cnf"}).stdout_text,
              HasSubstr("s SATISFIABLE"));
}

TEST_P(SendFilesTest, InterpreterRunsAScriptThatIncludesAnotherLikeNatively) {
  const std::string dir = ProgramPath("files/calc");
  const std::string native = (temp_.path() / "calc").string();
  CompileNatively(dir, {"calc.cpp"}, native);
  for (const char* script : {"main.calc", "broken.calc"}) {
    SCOPED_TRACE(script);
    ProcessResult expected = RunNative(native, dir, {script, "bonus=250"});
    ProcessResult remote =
        Send(dir, {"calc.cpp", "--input", script, "--input", "lib", "--", script, "bonus=250"});
    EXPECT_EQ(remote.exit_code, expected.exit_code) << remote;
    EXPECT_EQ(remote.stdout_text, expected.stdout_text) << remote;
    EXPECT_EQ(remote.stderr_text, expected.stderr_text) << remote;
  }
}

// A filter: its text on stdin, its options as arguments, one of them naming a data file.
TEST_P(SendFilesTest, FilterReadsStdinAndTakesOptionsLikeNatively) {
  const std::string dir = ProgramPath("files/wordfreq");
  const std::string native = (temp_.path() / "wordfreq").string();
  CompileNatively(dir, {"wordfreq.cpp"}, native);
  const std::string text = ReadFile(fs::path(dir) / "text.txt");
  ASSERT_FALSE(text.empty());
  const std::vector<std::vector<std::string>> runs = {
      {"-n", "3", "--ignore-case", "--stopwords", "stopwords.txt"},
      {"--min-length", "6"},
      {"--bogus"},
      {"--stopwords", "missing.txt"},
  };
  for (const std::vector<std::string>& args : runs) {
    SCOPED_TRACE(args.front());
    ProcessResult expected = RunNative(native, dir, args, text);
    std::vector<std::string> send = {"wordfreq.cpp", "--input", "stopwords.txt", "--"};
    send.insert(send.end(), args.begin(), args.end());
    ProcessResult remote = Send(dir, send, text);
    EXPECT_EQ(remote.exit_code, expected.exit_code) << remote;
    EXPECT_EQ(remote.stdout_text, expected.stdout_text) << remote;
    EXPECT_EQ(remote.stderr_text, expected.stderr_text) << remote;
  }
  EXPECT_EQ(RunNative(native, dir, {"-n", "1"}, "").exit_code, 1);  // no words: its own code
  EXPECT_THAT(RunNative(native, dir, runs[0], text).stdout_text, HasSubstr("10\twas\n"));
}

// A command with files runs on an executor of its own, in a working directory of its own: the
// second job must not find the first one's report (the command would exit 3), and a command
// without files still runs on the warm pool afterwards.
TEST_P(SendFilesTest, ACommandTakesFilesAndBringsOutputsBack) {
  const std::string source = ProgramPath("files/count_lines/count_lines.cpp");
  fs::copy_file(ProgramPath("files/count_lines/data.txt"), temp_.path() / "data.txt");
  temp_.Write("other.txt", "a\nb\n");
  const std::string dir = temp_.path().string();
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    fs::remove_all(temp_.path() / "report");
    ProcessResult result = Send(dir, {source, "--input", "data.txt", "--output", "report",
                                      "--print-state"});
    EXPECT_EQ(result.exit_code, 0) << result;
    EXPECT_EQ(result.stdout_text,
              "counted data.txt\n{\n  \"input\": \"data.txt\",\n  \"lines\": 3\n}\n")
        << result;
    EXPECT_EQ(ReadFile(temp_.path() / "report" / "count.txt"), "data.txt: 3 lines\n");
  }
  ProcessResult other = Send(dir, {source, "--input", "other.txt:data.txt", "--set",
                                   "input=data.txt", "--print-state"});
  EXPECT_EQ(other.exit_code, 0) << other;
  EXPECT_THAT(other.stdout_text, HasSubstr("\"lines\": 2")) << other;
  ProcessResult without = Send(dir, {source, "--set", "input=missing.txt"});
  EXPECT_EQ(without.exit_code, 2) << without;
  EXPECT_THAT(without.stderr_text, HasSubstr("cannot read missing.txt")) << without;
}

TEST_P(SendFilesTest, SourceColonDestinationPlacesAFileElsewhere) {
  const std::string dir = ProgramPath("files/calc");
  ProcessResult remote = Send(dir, {"calc.cpp", "--input", "main.calc:scripts/run.calc",
                                    "--input", "lib/consts.calc:lib/consts.calc", "--",
                                    "scripts/run.calc", "bonus=250"});
  EXPECT_EQ(remote.exit_code, 8) << remote;
  EXPECT_THAT(remote.stdout_text, HasSubstr("3 110525\n")) << remote;
}

// --- a directory in, files and directories back ---

TEST_P(SendFilesTest, DirectoryInResultFileBackLikeNatively) {
  const std::string program_dir = ProgramPath("files/sim");
  const std::string native = (temp_.path() / "sim").string();
  CompileNatively(program_dir, {"sim.cpp"}, native);
  TempDir native_dir, remote_dir;
  fs::copy(fs::path(program_dir) / "data", native_dir.path() / "data", fs::copy_options::recursive);
  fs::copy(fs::path(program_dir) / "data", remote_dir.path() / "data", fs::copy_options::recursive);
  fs::copy(fs::path(program_dir) / "sim.cpp", remote_dir.path() / "sim.cpp");

  ProcessResult expected = RunNative(native, native_dir.path(), {"data", "--scale", "3"});
  ProcessResult remote = Send(remote_dir.path(), {"sim.cpp", "--input", "data/", "--output",
                                                  "out/result.csv", "--", "data", "--scale", "3"});
  EXPECT_EQ(remote.exit_code, expected.exit_code) << remote;
  EXPECT_EQ(remote.stdout_text, expected.stdout_text) << remote;
  EXPECT_EQ(remote.stderr_text, "") << remote;
  const std::string result = ReadFile(remote_dir.path() / "out/result.csv");
  EXPECT_EQ(result, ReadFile(native_dir.path() / "out/result.csv"));
  EXPECT_THAT(result, HasSubstr("more/b.txt,3,69\n"));
}

TEST_P(SendFilesTest, OutputDirectoryComesBackWholeAndTheExitCodeIsTheProgramsOwn) {
  temp_.Write("make.cpp", R"(
    #include <sys/stat.h>
    #include <filesystem>
    #include <fstream>
    int main() {
      std::filesystem::create_directories("out/sub/deeper");
      std::ofstream("out/a.txt") << "alpha\n";
      std::ofstream("out/sub/deeper/b.bin") << std::string(100000, 'b');
      std::filesystem::create_symlink("/etc/passwd", "out/link");
      mkfifo("out/pipe", 0644);  // never opened for reading: nothing would ever write it
      return 7;
    })");
  ProcessResult remote = Send(temp_.path(), {"make.cpp", "--output", "out"});
  EXPECT_EQ(remote.exit_code, 7) << remote;
  EXPECT_EQ(remote.stderr_text, "") << remote;
  EXPECT_EQ(ReadFile(temp_.path() / "out/a.txt"), "alpha\n");
  EXPECT_EQ(ReadFile(temp_.path() / "out/sub/deeper/b.bin"), std::string(100000, 'b'));
  // A link the job made is not followed, nor brought back.
  EXPECT_FALSE(fs::exists(fs::symlink_status(temp_.path() / "out/link")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(temp_.path() / "out/pipe")));
}

TEST_P(SendFilesTest, MissingOutputIsNamedAndTheExitCodeIsTheProgramsOwn) {
  temp_.Write("quiet.cpp", "int main() { return 4; }");
  ProcessResult remote = Send(temp_.path(), {"quiet.cpp", "--output", "result.csv"});
  EXPECT_EQ(remote.exit_code, 4) << remote;
  EXPECT_THAT(remote.stderr_text, HasSubstr("rexec: output result.csv: not found after the job"))
      << remote;
  EXPECT_FALSE(fs::exists(temp_.path() / "result.csv"));
}

TEST_P(SendFilesTest, OutputsBeyondTheBoundAreRefusedWithAMessage) {
  temp_.Write("big.cpp", R"(
    #include <fstream>
    #include <string>
    int main() { std::ofstream("big.txt") << std::string(5000, 'x'); })");
  ProcessResult remote =
      Send(temp_.path(), {"big.cpp", "--output", "big.txt", "--max-output-files", "4K"});
  EXPECT_EQ(remote.exit_code, 0) << remote;
  EXPECT_THAT(remote.stderr_text, HasSubstr("the outputs exceed 4096 bytes (--max-output-files)"))
      << remote;
  EXPECT_FALSE(fs::exists(temp_.path() / "big.txt"));
}

// --- content addressing: one question for a tree, nothing uploaded twice ---

TEST_P(SendFilesTest, ThousandFilesTakeOneMissingCheckAndUploadNothingTheSecondTime) {
  uint64_t bytes = 0;
  // Contents unique to this run, so that neither worker holds them yet.
  const std::string salt = temp_.path().filename().string() + (GetParam() ? "on" : "off");
  for (int i = 0; i < 1000; ++i) {
    const std::string contents =
        std::to_string(i) + " " + std::to_string(i * 7) + "\n# " + salt + "\n";
    bytes += contents.size();
    temp_.Write("tree/d" + std::to_string(i % 10) + "/f" + std::to_string(i) + ".txt", contents);
  }
  fs::copy(ProgramPath("files/sim/sim.cpp"), temp_.path() / "sim.cpp");

  const uint64_t checks_before = Counter(worker(), "file_missing_checks");
  const uint64_t uploaded_before = Counter(worker(), "file_upload_bytes");
  ProcessResult first = Send(temp_.path(), {"sim.cpp", "--input", "tree", "--", "tree"});
  EXPECT_EQ(first.exit_code, 0) << first;
  EXPECT_EQ(first.stdout_text, "files 1000 numbers 2000 total 3996000\n") << first;
  EXPECT_EQ(Counter(worker(), "file_missing_checks"), checks_before + 1);
  EXPECT_EQ(Counter(worker(), "file_upload_bytes"), uploaded_before + bytes);

  ProcessResult second = Send(temp_.path(), {"sim.cpp", "--input", "tree", "--", "tree"});
  EXPECT_EQ(second.exit_code, 0) << second;
  EXPECT_EQ(second.stdout_text, first.stdout_text) << second;
  EXPECT_EQ(Counter(worker(), "file_missing_checks"), checks_before + 2);
  EXPECT_EQ(Counter(worker(), "file_upload_bytes"), uploaded_before + bytes);
}

TEST_P(SendFilesTest, A200MegabyteInputKeepsTheWorkersMemoryBounded) {
  temp_.Write("count.cpp", R"(
    #include <cstdio>
    int main(int argc, char** argv) {
      FILE* file = std::fopen(argv[1], "rb");
      if (file == nullptr) return 2;
      static char buffer[1 << 16];
      unsigned long long bytes = 0, sum = 0;
      for (size_t got; (got = std::fread(buffer, 1, sizeof buffer, file)) > 0; bytes += got) {
        for (size_t i = 0; i < got; ++i) sum += static_cast<unsigned char>(buffer[i]);
      }
      std::printf("%llu bytes, sum %llu\n", bytes, sum);
    })");
  temp_.Write("small.bin", "abc");
  // Warm: the program compiled and linked, so what follows measures the file alone.
  ProcessResult warm = Send(temp_.path(), {"count.cpp", "--input", "small.bin", "--", "small.bin"});
  ASSERT_EQ(warm.exit_code, 0) << warm;
  const uint64_t peak_before_kb = ProcStatusKb(worker().pid(), "VmHWM");

  // Sparse but for a marker unique to this run, so it is uploaded, all 200 MB of it.
  const fs::path big = temp_.path() / "big.bin";
  {
    int fd = open(big.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 200ll << 20), 0);
    const std::string marker = temp_.path().filename().string() + (GetParam() ? "on" : "off");
    ASSERT_EQ(pwrite(fd, marker.data(), marker.size(), 123456789),
              static_cast<ssize_t>(marker.size()));
    close(fd);
  }
  uint64_t marker_sum = 0;
  for (unsigned char c : temp_.path().filename().string() + (GetParam() ? "on" : "off")) {
    marker_sum += c;
  }
  const uint64_t uploaded_before = Counter(worker(), "file_upload_bytes");
  ProcessResult remote = Send(temp_.path(), {"count.cpp", "--input", "big.bin", "--", "big.bin"});
  EXPECT_EQ(remote.exit_code, 0) << remote;
  EXPECT_EQ(remote.stdout_text,
            std::to_string(200ull << 20) + " bytes, sum " + std::to_string(marker_sum) + "\n")
      << remote;
  EXPECT_EQ(Counter(worker(), "file_upload_bytes"), uploaded_before + (200ull << 20));
  const uint64_t peak_after_kb = ProcStatusKb(worker().pid(), "VmHWM");
  // Chunks stream to disk: the worker's peak grows by a few chunks, not by the file.
  EXPECT_LT(peak_after_kb, peak_before_kb + 48 * 1024)
      << "VmHWM " << peak_before_kb << " kB before, " << peak_after_kb << " kB after";
}

// --- refusals: before anything is sent ---

TEST_P(SendFilesTest, BadInputsAndOutputsAreRefusedBeforeAnythingIsSent) {
  temp_.Write("hello.cpp", "int main() {}");
  temp_.Write("data.txt", "data");
  temp_.Write("tree/ok.txt", "ok");
  fs::create_symlink("/etc/passwd", temp_.path() / "tree/passwd");
  temp_.Write("inner/ok.txt", "ok");
  fs::create_symlink("ok.txt", temp_.path() / "inner/alias.txt");  // inside: followed

  const uint64_t checks_before = Counter(worker(), "file_missing_checks");
  const std::vector<std::pair<std::vector<std::string>, std::string>> refusals = {
      {{"--input", "data.txt:/etc/data.txt"}, "file path '/etc/data.txt' is absolute"},
      {{"--input", "data.txt:../data.txt"}, "file path '../data.txt' has a '..' component"},
      {{"--input", "data.txt:a/../../b"}, "has a '..' component"},
      {{"--input", "tree"}, "tree/passwd is a link pointing outside tree: refused"},
      {{"--input", "missing.txt"}, "--input missing.txt: No such file or directory"},
      {{"--output", "/tmp/x"}, "--output /tmp/x: file path '/tmp/x' is absolute"},
      {{"--output", "../x"}, "--output ../x: file path '../x' has a '..' component"},
  };
  for (const auto& [flags, message] : refusals) {
    SCOPED_TRACE(flags[1]);
    std::vector<std::string> args = {"hello.cpp"};
    args.insert(args.end(), flags.begin(), flags.end());
    ProcessResult refused = Send(temp_.path(), args);
    EXPECT_EQ(refused.exit_code, 125) << refused;
    EXPECT_THAT(refused.stderr_text, HasSubstr(message)) << refused;
  }
  EXPECT_EQ(Counter(worker(), "file_missing_checks"), checks_before);

  temp_.Write("show.cpp", R"(
    #include <fstream>
    #include <iostream>
    int main() { std::cout << std::ifstream("inner/alias.txt").rdbuf(); })");
  ProcessResult followed = Send(temp_.path(), {"show.cpp", "--input", "inner"});
  EXPECT_EQ(followed.exit_code, 0) << followed;
  EXPECT_EQ(followed.stdout_text, "ok") << followed;
}

INSTANTIATE_TEST_SUITE_P(Sandbox, SendFilesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "On" : "Off";
                         });

TEST(SendFilesEmbeddedTest, TheEmbeddedWorkerTakesFilesToo) {
  TempDir temp;
  fs::copy(ProgramPath("files/sim/sim.cpp"), temp.path() / "sim.cpp");
  fs::copy(ProgramPath("files/sim/data"), temp.path() / "data", fs::copy_options::recursive);
  ProcessOptions options;
  options.working_dir = temp.path();
  ProcessResult result =
      RunSend({"sim.cpp", "--input", "data", "--output", "out", "--", "data"}, options);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "files 3 numbers 9 total 138\n") << result;
  EXPECT_THAT(ReadFile(temp.path() / "out/result.csv"), HasSubstr("more/c.txt,1,100\n"));
}

}  // namespace
}  // namespace rexec::testing
