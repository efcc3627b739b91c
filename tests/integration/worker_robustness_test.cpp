// Whatever arrives on its port, rexec-worker keeps serving: garbage, truncated or absurd Cap'n
// Proto frames, and crowds of connections that come and go.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "runtime/jit/module_template.h"
#include "tests/integration/loopback.h"
#include "tests/integration/process_footprint.h"
#include "tests/integration/process_tree.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/worker_process.h"

namespace rexec::testing {
namespace {

// A Cap'n Proto stream frame starts with a segment table: the segment count minus one, then
// each segment's size in 8-byte words, all little-endian 32-bit, padded to a whole word.
std::string SegmentTable(uint32_t count_minus_one, const std::vector<uint32_t>& sizes) {
  std::string table;
  auto put = [&](uint32_t value) {
    for (int i = 0; i < 4; ++i) table += static_cast<char>(value >> (8 * i));
  };
  put(count_minus_one);
  for (uint32_t size : sizes) put(size);
  if (table.size() % 8 != 0) put(0);
  return table;
}

std::string PseudoRandomBytes(size_t size) {
  std::string bytes(size, '\0');
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (char& byte : bytes) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    byte = static_cast<char>(state >> 56);
  }
  return bytes;
}

class WorkerRobustnessTest : public SharedWorkerTest {
 protected:
  void TearDown() override {
    if (worker().started()) ExpectWorkerRunsHello();
  }

  // Opens a connection, writes `bytes` and returns the socket, still open.
  static int Connect(const std::string& bytes) {
    int fd = ConnectLoopback(worker().port());
    EXPECT_GE(fd, 0) << "cannot connect to the worker";
    if (fd >= 0) SendAll(fd, bytes);  // the worker may rightly hang up early
    return fd;
  }

  static void SendAndClose(const std::string& bytes) {
    int fd = Connect(bytes);
    if (fd >= 0) close(fd);
  }
};

TEST_F(WorkerRobustnessTest, KeepsServingAfterGarbageBytes) {
  SendAndClose(PseudoRandomBytes(64 * 1024));
  SendAndClose("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  SendAndClose(std::string(1, '\xff'));
}

TEST_F(WorkerRobustnessTest, KeepsServingAfterTruncatedFrame) {
  // Announces one segment of 1000 words, sends 100 bytes of it and hangs up.
  SendAndClose(SegmentTable(0, {1000}) + std::string(100, '\0'));
}

TEST_F(WorkerRobustnessTest, KeepsServingAfterFramesAnnouncingHugeSegments) {
  const std::vector<std::string> frames = {
      SegmentTable(0, {0xFFFFFFFFu}) + std::string(64, '\0'),      // one 32 GiB segment
      SegmentTable(0xFFFFFFFEu, {}),                               // four billion segments
      SegmentTable(511, std::vector<uint32_t>(512, 0x7FFFFFFFu)),  // 512 segments of 16 GiB
  };
  for (const std::string& frame : frames) {
    // Held open while another client runs a program: the worker must neither block on the
    // frame nor have allocated what it announces.
    int fd = Connect(frame);
    ExpectWorkerRunsHello();
    if (fd >= 0) close(fd);
  }
}

TEST_F(WorkerRobustnessTest, UnfinishedFrameDoesNotBlockOtherClients) {
  int fd = Connect(SegmentTable(0, {1000}) + std::string(16, '\0'));
  ExpectWorkerRunsHello();
  ExpectWorkerRunsHello();
  if (fd >= 0) close(fd);
}

TEST_F(WorkerRobustnessTest, KeepsServingAfterManySimultaneousConnections) {
  constexpr int kConnections = 200;
  std::vector<int> fds;
  for (int i = 0; i < kConnections; ++i) {
    int fd = ConnectLoopback(worker().port());
    ASSERT_GE(fd, 0) << "connection " << i << " refused";
    fds.push_back(fd);
  }
  for (int i = 0; i < kConnections; ++i) {
    if (i % 3 == 1) SendAll(fds[i], PseudoRandomBytes(100 + i));
    if (i % 2 == 0) {
      close(fds[i]);
    } else {
      CloseWithReset(fds[i]);
    }
  }
}

TEST_F(WorkerRobustnessTest, ClosedConnectionsReleaseTheirFileDescriptors) {
  auto open_fds = [] { return OpenDescriptors(worker().pid()); };
  ExpectWorkerRunsHello();
  int baseline = open_fds();
  ASSERT_GT(baseline, 0);
  for (int round = 0; round < 5; ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 50; ++i) fds.push_back(Connect(SegmentTable(0, {1000})));
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  ExpectWorkerRunsHello();
  auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
  while (open_fds() > baseline + 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_LE(open_fds(), baseline + 2) << "the worker holds on to closed connections";
}

TEST(WorkerLifecycleTest, StopsPromptlyOnSigtermEvenWithAClientConnected) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.started()) << worker.log();
  int idle_client = ConnectLoopback(worker.port());
  ASSERT_GE(idle_client, 0);
  ProcessResult stopped = worker.Stop(milliseconds(5000));
  close(idle_client);
  EXPECT_FALSE(stopped.timed_out) << "SIGTERM did not stop the worker within 5 s";
  EXPECT_TRUE(stopped.exited) << stopped;
  EXPECT_EQ(stopped.exit_code, 0) << stopped;
}

// A module's template starts each job's processes before the job comes (exec/template_server.h),
// one job ahead after a single run (ModuleTemplate::kReadyJobsAtFirst). Killed while they wait,
// they are replaced when the job comes: the job runs.
TEST(WorkerLifecycleTest, AJobRunsWhenTheProcessesWaitingForItWereKilled) {
  WorkerProcess worker;
  ASSERT_TRUE(worker.started()) << worker.log();
  ExpectHelloRunsOn(worker);  // links hello's template, which starts the next job's processes
  auto waiting = [&] {
    return ProcessesNamed(worker.pid(), {"rexec-job-init", "rexec-job-shim", "rexec-ready"});
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<pid_t> victims;
  // Exactly the next jobs' two each: the last job's shim or init may still be ending, after its
  // report.
  const size_t expected = 2 * ModuleTemplate::kReadyJobsAtFirst;
  while ((victims = waiting()).size() != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(victims.size(), expected) << "expected a waiting init (or shim) and job process for "
                                         "each job prepared ahead";
  for (pid_t pid : victims) kill(pid, SIGKILL);
  while (!waiting().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(waiting().empty()) << "the killed processes are still there";
  ExpectHelloRunsOn(worker);
  ExpectHelloRunsOn(worker);
}

}  // namespace
}  // namespace rexec::testing
