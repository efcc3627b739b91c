// A test fixture whose tests share one rexec-worker: each worker starts with an empty cache, and
// every module it has not seen costs a JIT compile, so a suite pays for its programs only once.
// A suite that must kill or upset a worker starts a WorkerProcess of its own instead.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/send_command.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"

namespace rexec::testing {

// The check after anything that might have hurt a worker: it still runs a program.
inline void ExpectHelloRunsOn(const WorkerProcess& worker) {
  ProcessResult hello = RunSend({"--worker", worker.address(), ProgramPath("hello.cpp")});
  EXPECT_EQ(hello.exit_code, 0) << "the worker no longer runs programs: " << hello << worker.log();
  EXPECT_EQ(hello.stdout_text, "hello from rexec\n") << hello;
}

class SharedWorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { worker_ = std::make_unique<WorkerProcess>(); }
  static void TearDownTestSuite() { worker_.reset(); }
  void SetUp() override { ASSERT_TRUE(worker_->started()) << worker_->log(); }

  static const WorkerProcess& worker() { return *worker_; }

  // rexec-send --worker <the shared worker> args...
  static ProcessResult Send(const std::vector<std::string>& args, ProcessOptions options = {}) {
    std::vector<std::string> with_worker = {"--worker", worker_->address()};
    with_worker.insert(with_worker.end(), args.begin(), args.end());
    return RunSend(with_worker, std::move(options));
  }

  static void ExpectWorkerRunsHello() { ExpectHelloRunsOn(*worker_); }

 private:
  static inline std::unique_ptr<WorkerProcess> worker_;
};

}  // namespace rexec::testing
