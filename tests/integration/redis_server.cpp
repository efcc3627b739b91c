#include "tests/integration/redis_server.h"

#include <signal.h>

#include <thread>

#include "tests/integration/loopback.h"
#include "tests/integration/read_file.h"

namespace rexec::testing {
namespace {

constexpr milliseconds kStartupTimeout{10'000};

}  // namespace

// Another process could take the port before redis-server binds it; Start() then fails and the
// constructor tries another.
RedisServer::RedisServer() {
  for (int attempt = 0; attempt < 5 && !ready_; ++attempt) {
    port_ = UnusedLoopbackPort();
    ready_ = port_ != 0 && Start();
  }
}

RedisServer::~RedisServer() {
  if (process_ != nullptr) {
    process_->Signal(SIGKILL);
    process_->Wait(milliseconds(5000));
  }
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

std::string RedisServer::log() const {
  return "--- redis-server log ---\n" + ReadFile(dir_.path() / "redis.log");
}

bool RedisServer::Start() {
  ++starts_;
  std::vector<std::string> argv = {"/usr/bin/redis-server",
                                   "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1",
                                   "--save", "",
                                   "--appendonly", "no",
                                   "--dir", dir_.path().string(),
                                   "--logfile", (dir_.path() / "redis.log").string(),
                                   "--daemonize", "no"};
  ProcessOptions options;
  options.stdout_file = (dir_.path() / "stdout.log").string();
  options.stderr_file = (dir_.path() / "stderr.log").string();
  options.timeout = milliseconds(24 * 3600 * 1000);
  process_ = std::make_unique<Subprocess>(argv, options);
  if (!process_->started()) return false;
  // Each start appends to the log: wait for this start's line.
  auto deadline = std::chrono::steady_clock::now() + kStartupTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = ReadFile(dir_.path() / "redis.log");
    size_t ready_lines = 0;
    for (size_t at = log.find("Ready to accept connections"); at != std::string::npos;
         at = log.find("Ready to accept connections", at + 1)) {
      ++ready_lines;
    }
    if (ready_lines >= static_cast<size_t>(starts_)) return true;
    if (process_->Exited()) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

std::string RedisServer::Cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"/usr/bin/redis-cli", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv).stdout_text;
}

void RedisServer::Kill() {
  process_->Signal(SIGKILL);
  process_->Wait(milliseconds(5000));
  process_ = nullptr;
  ready_ = false;
}

bool RedisServer::Restart() {
  if (process_ != nullptr) Kill();
  ready_ = Start();
  return ready_;
}

}  // namespace rexec::testing
