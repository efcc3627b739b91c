// Escape attempts, each a real program sent with rexec-send to a real worker: every one fails
// cleanly inside the job, and the worker serves on. The suite runs against a worker run as
// root (this test's own user under CI) and, when the test is root, against one run as nobody.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/process_tree.h"
#include "tests/integration/send_command.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

enum class WorkerUser { kTestsOwn, kNobody };

std::optional<RunAs> RunAsFor(WorkerUser user) {
  if (user == WorkerUser::kNobody) return RunAs{65534, 65534};
  return std::nullopt;
}

// Waits up to `timeout` for the worker to have no process left in a job's namespace.
bool JobProcessesEndWithin(pid_t worker, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!JobProcessesOf(worker).empty()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

class SandboxEscapeTest : public ::testing::TestWithParam<WorkerUser> {
 protected:
  void SetUp() override {
    if (GetParam() == WorkerUser::kNobody && geteuid() != 0) {
      GTEST_SKIP() << "running a worker as another user needs root";
    }
    worker_ = std::make_unique<WorkerProcess>(std::vector<std::string>{}, 0,
                                              RunAsFor(GetParam()));
    ASSERT_TRUE(worker_->started()) << worker_->log();
  }
  void TearDown() override {
    if (worker_ != nullptr && worker_->started()) ExpectHelloRunsOn(*worker_);
  }

  ProcessResult Run(const std::string& program, std::vector<std::string> args = {}) {
    std::vector<std::string> send = {"--worker", worker_->address(),
                                     ProgramPath("escape/" + program), "--"};
    send.insert(send.end(), args.begin(), args.end());
    return RunSend(send);
  }

  // Attempts that would do harm unsandboxed run only after this: the same worker's job shows
  // the sandbox's marks (and the programs check them again themselves).
  void ExpectSandboxed() {
    ProcessResult marks = Run("privileged_calls.c");
    ASSERT_EQ(marks.exit_code, 0) << marks;
    ASSERT_THAT(marks.stdout_text, Not(HasSubstr("ALLOWED"))) << marks;
  }

  std::unique_ptr<WorkerProcess> worker_;
};

TEST_P(SandboxEscapeTest, HostFilesTheCacheAndTheWorkersProcAreOutOfSight) {
  std::string secret = (worker_->cache_dir() / "objects" / "secret").string();
  ASSERT_TRUE(std::filesystem::exists(secret));
  std::string worker_environ = "/proc/" + std::to_string(worker_->pid()) + "/environ";
  ProcessResult result =
      Run("read_file.c", {"/etc/shadow", secret, worker_environ, "/root/.bashrc", "/home"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("READ"))) << result;
  for (const std::string& path : {std::string("/etc/shadow"), secret, worker_environ}) {
    EXPECT_THAT(result.stdout_text, HasSubstr(path + ": No such file or directory")) << result;
  }
}

TEST_P(SandboxEscapeTest, OnlyTheWorkingDirectoryAndTmpAreWritable) {
  ProcessResult result = Run("write_files.c", {"/usr/rexec-escape", "/etc/rexec-escape",
                                               "/rexec-escape", "out.txt", "/tmp/scratch"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("/usr/rexec-escape: Read-only file system")) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("/etc/rexec-escape: Read-only file system")) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("/rexec-escape: Read-only file system")) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("out.txt: WROTE")) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("/tmp/scratch: WROTE")) << result;
  EXPECT_FALSE(std::filesystem::exists("/usr/rexec-escape"));
  EXPECT_FALSE(std::filesystem::exists("/rexec-escape"));
}

TEST_P(SandboxEscapeTest, NoTcpConnectionToTheWorkerOrAnyLoopbackPort) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::string other_port = std::to_string(ntohs(address.sin_port));

  ProcessResult result =
      Run("connect_tcp.c", {std::to_string(worker_->port()), other_port});
  close(listener);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("CONNECTED"))) << result;
  EXPECT_THAT(result.stdout_text,
              HasSubstr("port " + std::to_string(worker_->port()) +
                        ": socket: Address family not supported by protocol"))
      << result;
}

TEST_P(SandboxEscapeTest, SignalsReachNothingOutsideTheJob) {
  ExpectSandboxed();
  ProcessResult result = Run("signal_others.c");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("still here")) << result;
  // kill(-1) finds nobody: the job's init ignores it and nothing else is in its namespace.
  EXPECT_THAT(result.stdout_text, HasSubstr("kill(-1): No such process")) << result;
}

TEST_P(SandboxEscapeTest, ADaemonEndsWithItsJob) {
  ProcessResult result = Run("daemon.c");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("daemon started")) << result;
  EXPECT_TRUE(JobProcessesEndWithin(worker_->pid(), std::chrono::milliseconds(5000)))
      << "a process of the job outlived it";
}

TEST_P(SandboxEscapeTest, AForkFloodIsStoppedAndCleanedUp) {
  ExpectSandboxed();
  ProcessResult result = Run("fork_flood.c");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text,
              ContainsRegex("fork failed after [0-9]+ children: Resource temporarily unavailable"))
      << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("FORKED"))) << result;
  EXPECT_TRUE(JobProcessesEndWithin(worker_->pid(), std::chrono::milliseconds(10'000)))
      << "the flood's processes outlived the job";
}

TEST_P(SandboxEscapeTest, PtraceMountUnshareChrootAndSetuidAreRefused) {
  ProcessResult result = Run("privileged_calls.c");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("ALLOWED"))) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("ptrace(ATTACH, 1): Operation not permitted"))
      << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("mount(tmpfs): Operation not permitted")) << result;
}

TEST_P(SandboxEscapeTest, ASystemCallOfAnotherAbiKillsTheJob) {
  ProcessResult result = Run("x32_syscall.c");
  EXPECT_EQ(result.exit_code, 128 + SIGSYS) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("ALLOWED"))) << result;
}

TEST_P(SandboxEscapeTest, ASetuidRootBinaryRunsWithoutPrivileges) {
  ProcessResult result = Run("setuid_binary.c");
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("mount exit ")) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("mount exit 0"))) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("must be superuser")) << result;
}

TEST_P(SandboxEscapeTest, ACommandExecutorIsSandboxedToo) {
  std::string secret = (worker_->cache_dir() / "objects" / "secret").string();
  ProcessResult result = RunSend({"--worker", worker_->address(),
                                  ProgramPath("escape/escape_command.cpp"), "--set",
                                  "secret_path=" + secret, "--print-state"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("ALLOWED"))) << result;
  EXPECT_THAT(result.stdout_text, AllOf(HasSubstr("\"uid\": 1000"),
                                        HasSubstr("\"inet_socket\": \"Address family not "
                                                  "supported by protocol\"")))
      << result;
}

// Whoever the worker runs as, its jobs die with it (and a root worker's with it too: see
// LongRunningJobTest).
TEST_P(SandboxEscapeTest, AJobDoesNotOutliveItsWorker) {
  Subprocess send(SendCommand({"--worker", worker_->address(), ProgramPath("long_running.cpp")}),
                  SendOptions());
  ASSERT_TRUE(send.WaitForOutput(Stream::kStdout, "\n", std::chrono::milliseconds(60'000)))
      << send.output(Stream::kStderr);
  std::smatch match;
  const std::string& out = send.output(Stream::kStdout);
  ASSERT_TRUE(std::regex_search(out, match, std::regex("running as pid ([0-9]+)\n"))) << out;
  pid_t job = HostPidOf(worker_->pid(), std::stoi(match[1]));
  ASSERT_NE(job, 0);
  worker_->Kill();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ProcessIsAlive(job) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(ProcessIsAlive(job)) << "the job " << job << " outlived its worker by 5 s";
  worker_.reset();  // nothing left to serve hello
}

// Its init holds a descriptor of the job's staging directory on the host while the job runs (to
// copy the outputs out after it); neither the job nor /proc/1 may lead there.
TEST_P(SandboxEscapeTest, AJobWithFilesCannotReachItsStagingDirectory) {
  TempDir dir;
  const std::string input = dir.Write("input.txt", "staged");
  ProcessResult result =
      RunSend({"--worker", worker_->address(), ProgramPath("escape/staging_descriptor.c"),
               "--input", input + ":input.txt", "--output", "anything"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("input: staged\n0 leaks\n")) << result;
  EXPECT_THAT(result.stdout_text, Not(HasSubstr("LEAK"))) << result;
}

INSTANTIATE_TEST_SUITE_P(Workers, SandboxEscapeTest,
                         ::testing::Values(WorkerUser::kTestsOwn, WorkerUser::kNobody),
                         [](const auto& info) {
                           return info.param == WorkerUser::kNobody ? "RunAsNobody"
                                                                    : "RunAsTestUser";
                         });

// Off is the operator's explicit choice, said out loud; the harmful programs then refuse.
TEST(SandboxOffTest, IsAnnouncedAndTheGuardedProgramsRefuse) {
  WorkerProcess worker({"--sandbox", "off"});
  ASSERT_TRUE(worker.started()) << worker.log();
  EXPECT_THAT(worker.log(), HasSubstr("SANDBOX OFF")) << worker.log();
  ProcessResult result =
      RunSend({"--worker", worker.address(), ProgramPath("escape/fork_flood.c")});
  EXPECT_EQ(result.exit_code, 3) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("not sandboxed: refusing to try")) << result;
}

}  // namespace
}  // namespace rexec::testing
