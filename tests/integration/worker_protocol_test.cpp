// A client that speaks the wire protocol but breaks its rules: wrong or malformed hashes,
// bitcode that is not bitcode, bounds exceeded. Each request is refused, and the worker serves on.
#include <capnp/ez-rpc.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <filesystem>
#include <memory>
#include <string>

#include "rexec/content_hash.h"
#include "schema/rexec.capnp.h"
#include "tests/integration/process_tree.h"
#include "tests/integration/read_file.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/worker_process.h"
#include "tests/support/compile_source.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

capnp::Data::Reader AsData(std::string_view bytes) {
  return {reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()};
}

std::string PseudoRandomBytes(size_t size) {
  std::string bytes(size, '\0');
  uint64_t state = 0x2545F4914F6CDD1Dull;
  for (char& byte : bytes) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    byte = static_cast<char>(state >> 56);
  }
  return bytes;
}

// A raw Cap'n Proto connection to a worker, logged in.
class ProtocolClient {
 public:
  explicit ProtocolClient(const WorkerProcess& worker) : rpc_(worker.address()), worker_(Login()) {}

  // Runs `request`; returns the worker's error message, or "" if it succeeded.
  template <typename Request>
  std::string Refusal(Request& request) {
    try {
      request.send().wait(rpc_.getWaitScope());
      return "";
    } catch (const kj::Exception& e) {
      return e.getDescription().cStr();
    }
  }

  // Uploads `bitcode` under `hash`; returns the refusal, "" if accepted.
  std::string Upload(std::string_view hash, std::string_view bitcode) {
    auto request = worker_.uploadRequest();
    request.setHash(AsData(hash));
    request.setBitcode(AsData(bitcode));
    return Refusal(request);
  }

  // Runs the module as a program without JobIo and returns the result's outcome.
  wire::JobResult::Outcome::Which RunProgram(std::string_view hash, std::string* failure) {
    auto request = worker_.runRequest();
    request.getJob().setModule(AsData(hash));
    request.getJob().getEntry().initProgram().setName("protocol-test");
    auto response = request.send().wait(rpc_.getWaitScope());
    auto outcome = response.getResult().getOutcome();
    if (outcome.isFailed()) *failure = outcome.getFailed().getMessage().cStr();
    return outcome.which();
  }

  // Runs `module` as a program with `io` as its JobIo. Returns the worker's refusal, "" if it
  // answered, or "no answer" if it did not within 5 s (the program answers at once).
  std::string RunWithIo(const Module& module, wire::JobIo::Client io,
                        wire::JobResult::Outcome::Which* outcome) {
    std::string hash(module.hash.bytes());
    if (std::string refused = Upload(hash, module.bitcode); !refused.empty()) return refused;
    auto request = worker_.runRequest();
    request.getJob().setModule(AsData(hash));
    request.getJob().getEntry().initProgram().setName("protocol-test");
    request.setIo(kj::mv(io));
    auto timeout = rpc_.getIoProvider().getTimer().afterDelay(5 * kj::SECONDS).then([]() {
      return kj::Maybe<wire::JobResult::Outcome::Which>(nullptr);
    });
    try {
      kj::Maybe<wire::JobResult::Outcome::Which> finished =
          request.send()
              .then([](auto response) {
                return kj::Maybe<wire::JobResult::Outcome::Which>(
                    response.getResult().getOutcome().which());
              })
              .exclusiveJoin(kj::mv(timeout))
              .wait(rpc_.getWaitScope());
      KJ_IF_MAYBE (which, finished) {
        *outcome = *which;
        return "";
      }
      return "no answer within 5 s";
    } catch (const kj::Exception& e) {
      return e.getDescription().cStr();
    }
  }

  wire::Worker::Client& worker() { return worker_; }
  kj::WaitScope& wait_scope() { return rpc_.getWaitScope(); }

 private:
  wire::Worker::Client Login() {
    auto request = rpc_.getMain<wire::Gateway>().loginRequest();
    request.setToken("");
    return request.send().getWorker();
  }

  capnp::EzRpcClient rpc_;
  wire::Worker::Client worker_;
};

class WorkerProtocolTest : public SharedWorkerTest {
 protected:
  void SetUp() override {
    SharedWorkerTest::SetUp();
    client_ = std::make_unique<ProtocolClient>(worker());
  }
  void TearDown() override {
    client_.reset();
    if (worker().started()) ExpectWorkerRunsHello();
  }

  std::unique_ptr<ProtocolClient> client_;
};

TEST_F(WorkerProtocolTest, UploadWhoseHashDoesNotMatchIsRefused) {
  std::string bitcode = "BC\xC0\xDE" + PseudoRandomBytes(1000);
  std::string wrong_hash(ContentHash::Of("something else").bytes());
  EXPECT_THAT(client_->Upload(wrong_hash, bitcode), HasSubstr("does not match its hash"));
  std::string failure;
  EXPECT_EQ(client_->RunProgram(wrong_hash, &failure), wire::JobResult::Outcome::MISSING_MODULE);
}

TEST_F(WorkerProtocolTest, MalformedHashIsRefused) {
  EXPECT_THAT(client_->Upload("short", "BC\xC0\xDE"), HasSubstr("32 bytes"));
}

TEST_F(WorkerProtocolTest, RunOfAModuleTheWorkerLacksAsksForAnUpload) {
  std::string failure;
  EXPECT_EQ(client_->RunProgram(ContentHash::Of("never uploaded").bytes(), &failure),
            wire::JobResult::Outcome::MISSING_MODULE);
}

// Bitcode magic then noise, and noise alone: the hash matches, so only the JIT can tell. The
// module's template starts while its object is made: a failed compile leaves none behind.
TEST_F(WorkerProtocolTest, GarbageBitcodeFailsToCompileWithoutHarm) {
  const size_t templates_before = ProcessesNamed(worker().pid(), {"rexec-module-te"}).size();
  for (std::string bitcode :
       {"BC\xC0\xDE" + PseudoRandomBytes(64 * 1024), PseudoRandomBytes(64 * 1024)}) {
    std::string hash(ContentHash::Of(bitcode).bytes());
    ASSERT_EQ(client_->Upload(hash, bitcode), "");
    std::string failure;
    EXPECT_EQ(client_->RunProgram(hash, &failure), wire::JobResult::Outcome::FAILED);
    EXPECT_FALSE(failure.empty());
  }
  EXPECT_EQ(ProcessesNamed(worker().pid(), {"rexec-module-te"}).size(), templates_before);
}

// Bitcode that crashes LLVM's reader (a 2,776-byte mutation with a correct hash), valid IR whose
// code generation is a fatal error, and inline assembly the assembler rejects: each ends the
// process that compiles it. That process is the compile server, so each fails its own job with
// LLVM's account, and the worker serves on (checked after each).
TEST_F(WorkerProtocolTest, BitcodeThatBreaksLlvmFailsOnlyItsOwnJob) {
  struct Case {
    const char* file;
    const char* message;
  };
  for (const Case& hostile :
       {Case{"hostile/mutated-bitcode-segv.bc", "LLVM crashed with signal 11"},
        Case{"hostile/codegen_fatal_error.bc", "LLVM ERROR: Cannot select"},
        Case{"hostile/bad_inline_asm.bc", "invalid instruction mnemonic 'bogusinstr'"}}) {
    SCOPED_TRACE(hostile.file);
    std::string bitcode = ReadFile(ProgramPath(hostile.file));
    ASSERT_FALSE(bitcode.empty());
    std::string hash(ContentHash::Of(bitcode).bytes());
    ASSERT_EQ(client_->Upload(hash, bitcode), "");
    std::string failure;
    EXPECT_EQ(client_->RunProgram(hash, &failure), wire::JobResult::Outcome::FAILED);
    EXPECT_THAT(failure, HasSubstr(hostile.message));
    ExpectWorkerRunsHello();
  }
}

// What fuzzing LLVM's bitcode reader found (fuzz/crashes/bitcode/: crashes, an over-read, a
// 32 GB allocation, leaks): in the compile server each is one failed job.
TEST_F(WorkerProtocolTest, EveryBitcodeReaderCrashFuzzingFoundFailsOnlyItsOwnJob) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(REXEC_FUZZ_CRASHES_DIR "/bitcode")) {
    if (entry.path().extension() != ".bc") continue;
    SCOPED_TRACE(entry.path().filename().string());
    ++files;
    std::string bitcode = ReadFile(entry.path());
    std::string hash(ContentHash::Of(bitcode).bytes());
    ASSERT_EQ(client_->Upload(hash, bitcode), "");
    std::string failure;
    EXPECT_EQ(client_->RunProgram(hash, &failure), wire::JobResult::Outcome::FAILED);
    EXPECT_FALSE(failure.empty());
    ExpectWorkerRunsHello();
  }
  EXPECT_GE(files, 8);
}

TEST_F(WorkerProtocolTest, TooManyArgumentsAreRefused) {
  auto request = client_->worker().runRequest();
  request.getJob().setModule(AsData(ContentHash::Of("any").bytes()));
  request.getJob().getEntry().initProgram().initArgs(100'000);
  EXPECT_THAT(client_->Refusal(request), HasSubstr("too many arguments"));
}

TEST_F(WorkerProtocolTest, TooManyHashesInOneQueryAreRefused) {
  auto request = client_->worker().findMissingRequest();
  auto modules = request.initModules(100'000);
  std::string hash(ContentHash::Of("any").bytes());
  for (unsigned i = 0; i < modules.size(); ++i) modules.set(i, AsData(hash));
  EXPECT_THAT(client_->Refusal(request), HasSubstr("too many hashes"));
}

// A job's files are checked by the worker too, whoever sent them.
TEST_F(WorkerProtocolTest, InputAndOutputPathsThatCouldLeaveTheWorkingDirectoryAreRefused) {
  const std::string hash(ContentHash::Of("any").bytes());
  auto refusal = [&](const std::vector<std::string>& inputs,
                     const std::vector<std::string>& outputs) {
    auto request = client_->worker().runRequest();
    auto job = request.getJob();
    job.setModule(AsData(hash));
    job.getEntry().initProgram().setName("protocol-test");
    auto wire_inputs = job.initInputs(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      wire_inputs[i].setPath(inputs[i]);
      wire_inputs[i].setHash(AsData(hash));
      wire_inputs[i].setSize(3);
    }
    auto wire_outputs = job.initOutputs(outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) wire_outputs.set(i, outputs[i]);
    return client_->Refusal(request);
  };
  EXPECT_THAT(refusal({"/etc/passwd"}, {}), HasSubstr("is absolute"));
  EXPECT_THAT(refusal({"../x"}, {}), HasSubstr("'..' component"));
  EXPECT_THAT(refusal({"a/../../x"}, {}), HasSubstr("'..' component"));
  EXPECT_THAT(refusal({"a//b"}, {}), HasSubstr("empty or '.' component"));
  EXPECT_THAT(refusal({"a", "a"}, {}), HasSubstr("given twice"));
  EXPECT_THAT(refusal({"a", "a/b"}, {}), HasSubstr("below another input that is a file"));
  EXPECT_THAT(refusal({}, {"/tmp/out"}), HasSubstr("is absolute"));
  EXPECT_THAT(refusal({}, {"out/../../x"}), HasSubstr("'..' component"));
  EXPECT_THAT(refusal({}, {"out", "out/a.csv"}), HasSubstr("output paths overlap"));

  // A command's files are checked the same way.
  auto command = client_->worker().runRequest();
  command.getJob().setModule(AsData(hash));
  command.getJob().getEntry().initCommand().setName("Any");
  command.getJob().initOutputs(1).set(0, "../out");
  EXPECT_THAT(client_->Refusal(command), HasSubstr("'..' component"));
}

TEST_F(WorkerProtocolTest, UploadedFileWhoseContentsDoNotMatchItsHashIsRefused) {
  auto start = client_->worker().uploadFileRequest();
  start.setHash(AsData(ContentHash::Of("abc").bytes()));
  start.setSize(3);
  wire::FileSink::Client sink = start.send().getSink();
  auto write = sink.writeRequest();
  write.setData(AsData("xyz"));
  EXPECT_EQ(client_->Refusal(write), "");
  auto done = sink.doneRequest();
  EXPECT_THAT(client_->Refusal(done), HasSubstr("does not match its hash"));

  auto missing = client_->worker().findMissingFilesRequest();
  missing.initFiles(1).set(0, AsData(ContentHash::Of("abc").bytes()));
  auto response = missing.send().wait(client_->wait_scope());
  EXPECT_EQ(response.getMissing().size(), 1u);
}

TEST_F(WorkerProtocolTest, UploadedFileLongerThanAnnouncedIsRefused) {
  auto start = client_->worker().uploadFileRequest();
  start.setHash(AsData(ContentHash::Of("abc").bytes()));
  start.setSize(3);
  wire::FileSink::Client sink = start.send().getSink();
  auto write = sink.writeRequest();
  write.setData(AsData("abcd"));
  EXPECT_THAT(client_->Refusal(write), HasSubstr("larger than the 3 bytes announced"));
}

// A client's JobIo that answers each stdin read with more than was asked for, or with an error.
// Either way the job's stdin is over: a program reading it must see its end, not wait forever.
class MisbehavingStdin final : public wire::JobIo::Server {
 public:
  enum class Mode { kOversized, kFailing };
  explicit MisbehavingStdin(Mode mode) : mode_(mode) {}

 protected:
  kj::Promise<void> write(WriteContext context) override { return kj::READY_NOW; }
  kj::Promise<void> read(ReadContext context) override {
    KJ_REQUIRE(mode_ == Mode::kOversized, "the client's stdin broke");
    uint32_t asked = context.getParams().getMaxBytes();
    std::string lines(static_cast<size_t>(asked) + 4096, '\n');
    context.getResults().setData(AsData(lines));
    return kj::READY_NOW;
  }

 private:
  Mode mode_;
};

TEST_F(WorkerProtocolTest, StdinChunkLargerThanAskedForEndsTheJobWithoutHarm) {
  Module module = CompileSource(ReadFile(ProgramPath("echo_lines.cpp")));
  wire::JobResult::Outcome::Which outcome;
  std::string refused = client_->RunWithIo(
      module, kj::heap<MisbehavingStdin>(MisbehavingStdin::Mode::kOversized), &outcome);
  EXPECT_THAT(refused, Not(HasSubstr("no answer"))) << refused;
}

TEST_F(WorkerProtocolTest, FailingStdinEndsTheJobWithoutHarm) {
  Module module = CompileSource(ReadFile(ProgramPath("echo_lines.cpp")));
  wire::JobResult::Outcome::Which outcome;
  std::string refused = client_->RunWithIo(
      module, kj::heap<MisbehavingStdin>(MisbehavingStdin::Mode::kFailing), &outcome);
  EXPECT_THAT(refused, Not(HasSubstr("no answer"))) << refused;
}

TEST(WorkerModuleLimitTest, UploadLargerThanMaxModuleIsRefused) {
  WorkerProcess worker({"--max-module", "1M"});
  ASSERT_TRUE(worker.started()) << worker.log();
  {
    ProtocolClient client(worker);
    std::string bitcode = PseudoRandomBytes(2 << 20);
    EXPECT_THAT(client.Upload(ContentHash::Of(bitcode).bytes(), bitcode),
                HasSubstr("module larger than this worker accepts"));
  }
  ExpectHelloRunsOn(worker);
}

}  // namespace
}  // namespace rexec::testing
