// The C++ API (rexec/client.h, rexec/worker.h) against a real worker process over loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "rexec/client.h"
#include "rexec/worker.h"
#include "tests/integration/read_file.h"
#include "tests/integration/send_command.h"
#include "tests/integration/worker_process.h"
#include "tests/programs/commands/sample_commands.h"
#include "tests/programs/files/count_lines/count_lines.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;

class ClientApiTest : public ::testing::Test {
 protected:
  // One worker and one compile for the suite: clang takes about a second per compile here.
  static void SetUpTestSuite() {
    worker_ = new WorkerProcess();
    ASSERT_TRUE(worker_->started()) << worker_->log();
    auto client = Connect();
    ASSERT_TRUE(client.ok()) << client.status();
    auto module = (*client)->Compile({ProgramPath("commands/sample_commands.cpp")}, {"-O2"});
    ASSERT_TRUE(module.ok()) << module.status();
    module_ = new Module(std::move(*module));
  }
  static void TearDownTestSuite() {
    delete module_;
    delete worker_;
  }

  static absl::StatusOr<std::unique_ptr<Client>> Connect() {
    ClientOptions options;
    options.bitcode_cache_dir = "-";
    return Client::Connect(worker_->address(), options);
  }

  void SetUp() override {
    ASSERT_NE(module_, nullptr);
    auto client = Connect();
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  static WorkerProcess* worker_;
  static Module* module_;
  std::unique_ptr<Client> client_;
};

WorkerProcess* ClientApiTest::worker_ = nullptr;
Module* ClientApiTest::module_ = nullptr;

TEST_F(ClientApiTest, CompileFindsTheCommandsAndTheirFields) {
  std::vector<std::string> names;
  for (const CommandInfo& command : module_->commands) names.push_back(command.name);
  EXPECT_THAT(names, ::testing::ElementsAre("SampleCommand2", "Square", "Thrower"));
  EXPECT_EQ(module_->commands[0].descriptor, descriptor<SampleCommand2>());
  EXPECT_FALSE(module_->has_main);
}

TEST_F(ClientApiTest, RunShipsTheObjectAndReturnsItAfterMain) {
  SampleCommand2 command;
  command.message = "hello";
  command.xs = {1, 2.5};
  command.repeat = 3;
  command.centroid = Point{1, 2};
  auto result = client_->Run(*module_, command);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->ok()) << result->report.Describe();
  EXPECT_EQ(result->state.total, 3.5);
  EXPECT_EQ(result->state.counts.at("hello"), 1);
  ASSERT_TRUE(result->state.centroid.has_value());
  EXPECT_EQ(result->state.centroid->y, 2);
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->stdout_text, "hello\nhello\nhello\n");
}

TEST_F(ClientApiTest, VoidMainWorksAndDefaultsTravel) {
  auto result = client_->Run(*module_, Square{12});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state.value, 144);
  EXPECT_EQ(result->exit_code, 0);
}

TEST_F(ClientApiTest, AnExceptionComesBackAsItsTypeAndWhat) {
  auto result = client_->Run(*module_, Thrower{"no good"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->ok());
  EXPECT_EQ(result->report.outcome, JobReport::Outcome::kException);
  EXPECT_EQ(result->report.exception_type, "std::invalid_argument");
  EXPECT_EQ(result->report.message, "no good");
  EXPECT_EQ(result->state.reason, "no good");  // the object as it was sent
}

TEST_F(ClientApiTest, AThousandSubmittedJobsAllComeBackRight) {
  std::vector<std::future<absl::StatusOr<Result<Square>>>> jobs;
  for (long long i = 0; i < 1000; ++i) jobs.push_back(client_->Submit(*module_, Square{i}));
  for (long long i = 0; i < 1000; ++i) {
    auto result = jobs[i].get();
    ASSERT_TRUE(result.ok()) << i << ": " << result.status();
    ASSERT_EQ(result->state.value, i * i) << i;
  }
}

TEST_F(ClientApiTest, RawCommandWithAWrongFingerprintIsRefused) {
  std::string state = encode_state(Square{3});
  state[0] ^= 1;
  auto report = client_->RunCommand(*module_, "Square", state);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->outcome, JobReport::Outcome::kFailed);
  EXPECT_THAT(report->message, HasSubstr("fingerprint"));
}

TEST_F(ClientApiTest, UnknownCommandNamesTheOnesThere) {
  auto report = client_->RunCommand(*module_, "Nope", "");
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->outcome, JobReport::Outcome::kFailed);
  EXPECT_THAT(report->message, HasSubstr("SampleCommand2, Square, Thrower"));
}

TEST_F(ClientApiTest, PrebuiltBitcodeLoadsWithoutACompiler) {
  auto loaded = Client::Load(module_->bitcode);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->hash, module_->hash);
  EXPECT_EQ(loaded->commands.size(), 3u);
  EXPECT_FALSE(Client::Load("garbage").ok());
}

// What rexec-send does while it connects: the same module as a connected client's Compile, then
// from the bitcode cache.
TEST_F(ClientApiTest, CompileForNeedsNoConnectionAndCachesWhatItCompiled) {
  TempDir cache;
  ClientOptions options;
  options.bitcode_cache_dir = cache.path().string();
  const std::string& triple = client_->worker().triple;
  const std::vector<std::string> sources = {ProgramPath("commands/sample_commands.cpp")};
  CompileReport first;
  absl::StatusOr<Module> compiled = Client::CompileFor(triple, sources, {"-O2"}, options, &first);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_FALSE(first.cache_hit);
  EXPECT_EQ(compiled->hash, module_->hash);

  CompileReport second;
  absl::StatusOr<Module> cached = Client::CompileFor(triple, sources, {"-O2"}, options, &second);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(cached->hash, module_->hash);
  EXPECT_EQ(cached->commands.size(), module_->commands.size());
}

TEST(SharedCompilationTest, TwoClientsSendingTheSameNewModuleCauseOneCompilation) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.started()) << worker.log();
  ClientOptions options;
  options.bitcode_cache_dir = "-";
  auto first = Client::Connect(worker.address(), options);
  auto second = Client::Connect(worker.address(), options);
  ASSERT_TRUE(first.ok() && second.ok());
  auto module = (*first)->Compile({ProgramPath("commands/sample_commands.cpp")}, {"-O1"});
  ASSERT_TRUE(module.ok()) << module.status();

  // Both find the module missing, both upload it, both ask for it to be compiled, at once.
  auto a = (*first)->Submit(*module, Square{3});
  auto b = (*second)->Submit(*module, Square{4});
  auto result_a = a.get();
  auto result_b = b.get();
  ASSERT_TRUE(result_a.ok()) << result_a.status();
  ASSERT_TRUE(result_b.ok()) << result_b.status();
  EXPECT_EQ(result_a->state.value, 9);
  EXPECT_EQ(result_b->state.value, 16);
  auto stats = (*first)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->object_cache_misses, 1u);
  EXPECT_EQ(stats->linked_modules, 1u);
}

TEST(SharedCompilationTest, MaxLinkedBoundsTheModulesKeptLinked) {
  WorkerProcess worker({"--max-linked", "1"});
  ASSERT_TRUE(worker.started()) << worker.log();
  ClientOptions options;
  options.bitcode_cache_dir = "-";
  auto client = Client::Connect(worker.address(), options);
  ASSERT_TRUE(client.ok());
  for (const char* flag : {"-O0", "-O1", "-O0"}) {
    auto module = (*client)->Compile({ProgramPath("commands/sample_commands.cpp")}, {flag});
    ASSERT_TRUE(module.ok()) << module.status();
    auto result = (*client)->Run(*module, Square{5});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->state.value, 25);
  }
  auto stats = (*client)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->linked_modules, 1u);
  EXPECT_EQ(stats->object_cache_misses, 2u);  // -O0 came back from the object cache
  EXPECT_EQ(stats->object_cache_hits, 1u);
}

TEST(EmbeddedWorkerTest, StartsOnAPortServesAndStops) {
  TempDir dir;
  WorkerOptions options;
  options.cache_dir = (dir.path() / "cache").string();
  auto worker = Worker::Start(options);
  ASSERT_TRUE(worker.ok()) << worker.status();
  EXPECT_GT((*worker)->port(), 0);
  {
    ClientOptions client_options;
    client_options.bitcode_cache_dir = "-";
    auto client = Client::Connect((*worker)->address(), client_options);
    ASSERT_TRUE(client.ok()) << client.status();
    auto module = (*client)->Compile({ProgramPath("commands/sample_commands.cpp")}, {});
    ASSERT_TRUE(module.ok()) << module.status();
    auto result = (*client)->Run(*module, Square{7});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->state.value, 49);
  }
  std::string address = (*worker)->address();
  (*worker)->Stop();
  (*worker)->Stop();  // idempotent
  ClientOptions quick;
  quick.connect_timeout_ms = 2000;
  EXPECT_EQ(Client::Connect(address, quick).status().code(), absl::StatusCode::kUnavailable);
}

TEST(EmbeddedWorkerTest, RefusesAPublicAddressWithoutAToken) {
  WorkerOptions options;
  options.listen_address = "0.0.0.0:0";
  options.cache_dir = "-";
  auto worker = Worker::Start(options);
  EXPECT_EQ(worker.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(worker.status().message()), HasSubstr("token"));
}

TEST(EmbeddedWorkerTest, TokenIsRequiredWhenSet) {
  WorkerOptions options;
  options.token = "secret";
  options.cache_dir = "-";
  auto worker = Worker::Start(options);
  ASSERT_TRUE(worker.ok()) << worker.status();
  ClientOptions wrong;
  wrong.token = "guess";
  EXPECT_FALSE(Client::Connect((*worker)->address(), wrong).ok());
  ClientOptions right;
  right.token = "secret";
  auto client = Client::Connect((*worker)->address(), right);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE((*client)->Ping().ok());
}

// A client with a worker inside this process, whose cache is in `dir`.
absl::StatusOr<std::unique_ptr<Client>> LocalClient(const TempDir& dir) {
  WorkerOptions worker_options;
  worker_options.cache_dir = (dir.path() / "cache").string();
  ClientOptions options;
  options.bitcode_cache_dir = "-";
  return Client::Local(worker_options, options);
}

TEST(LocalClientTest, RunsCommandsOnAWorkerInsideThisProcess) {
  TempDir dir;
  auto client = LocalClient(dir);
  ASSERT_TRUE(client.ok()) << client.status();
  auto module = (*client)->Compile({ProgramPath("commands/sample_commands.cpp")}, {});
  ASSERT_TRUE(module.ok()) << module.status();
  auto result = (*client)->Run(*module, Square{-5});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->state.value, 25);
}

TEST_F(ClientApiTest, CompileTakesLibrariesAsANativeLinkDoes) {
  auto module =
      client_->Compile({ProgramPath("libraries/zlib_round_trip.cpp")}, {"-O2", "-lz", "-lm"});
  ASSERT_TRUE(module.ok()) << module.status();
  ASSERT_EQ(module->libraries.size(), 1u);  // -lm needs nothing
  EXPECT_EQ(module->libraries[0].kind, Library::Kind::kSystem);
  EXPECT_EQ(module->libraries[0].name, "z");
  auto report = client_->RunProgram(*module, {}, {-1, -1, -1});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->outcome, JobReport::Outcome::kExited) << report->Describe();
  EXPECT_EQ(report->code, 0);
}

TEST_F(ClientApiTest, LibraryTheWorkerLacksFailsTheJobAtTheLibraryStage) {
  auto module = client_->Compile({ProgramPath("hello.cpp")}, {"-lrexec_no_such_library"});
  ASSERT_TRUE(module.ok()) << module.status();
  auto report = client_->RunProgram(*module, {}, {-1, -1, -1});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->outcome, JobReport::Outcome::kFailed);
  EXPECT_EQ(report->failure_stage, "library");
  EXPECT_EQ(report->Describe(), "library not found: -lrexec_no_such_library");
  EXPECT_EQ(report->ShellExitCode(), 125);
}

TEST(LocalClientTest, RunProgramTakesFilesAlongAndBringsOutputsBack) {
  TempDir dir;
  auto client = LocalClient(dir);
  ASSERT_TRUE(client.ok()) << client.status();
  auto module = (*client)->Compile({ProgramPath("files/sim/sim.cpp")}, {});
  ASSERT_TRUE(module.ok()) << module.status();

  JobFiles files;
  files.inputs = {{ProgramPath("files/sim/data"), "numbers"}};
  files.outputs = {"out/result.csv"};
  files.output_directory = (dir.path() / "fetched").string();
  auto report = (*client)->RunProgram(*module, {"numbers", "--scale", "2"}, {-1, -1, -1}, {},
                                      "sim", files);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->outcome, JobReport::Outcome::kExited);
  EXPECT_EQ(report->code, 0);
  EXPECT_TRUE(report->output_problems.empty());
  ASSERT_EQ(report->output_files.size(), 1u);
  EXPECT_EQ(report->output_files[0].path, "out/result.csv");
  EXPECT_EQ(report->output_files[0].data,
            "file,count,scaled_sum\na.txt,5,30\nmore/b.txt,3,46\nmore/c.txt,1,200\n");
  EXPECT_EQ(ReadFile(dir.path() / "fetched/out/result.csv"), report->output_files[0].data);

  files.inputs = {{ProgramPath("files/sim/data"), "../numbers"}};
  auto refused = (*client)->RunProgram(*module, {}, {-1, -1, -1}, {}, "sim", files);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("'..' component"));
}

TEST(LocalClientTest, RunTakesFilesForACommand) {
  TempDir dir;
  auto client = LocalClient(dir);
  ASSERT_TRUE(client.ok()) << client.status();
  auto module = (*client)->Compile({ProgramPath("files/count_lines/count_lines.cpp")}, {});
  ASSERT_TRUE(module.ok()) << module.status();
  JobFiles files;
  files.inputs = {{dir.Write("lines.txt", "1\n2\n3\n4\n"), "data.txt"}};
  files.outputs = {"report/count.txt"};
  auto result = (*client)->Run(*module, CountLines{}, {}, files);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->stderr_text;
  EXPECT_EQ(result->state.lines, 4);
  EXPECT_EQ(result->stdout_text, "counted data.txt\n");
  ASSERT_EQ(result->report.output_files.size(), 1u);
  EXPECT_EQ(result->report.output_files[0].data, "data.txt: 4 lines\n");
}

}  // namespace
}  // namespace rexec::testing
