#include "tests/integration/worker_process.h"

#include <signal.h>
#include <unistd.h>

#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/read_file.h"
#include "tests/integration/send_command.h"

namespace rexec::testing {
namespace {

constexpr milliseconds kStartupTimeout{30'000};

}  // namespace

WorkerProcess::WorkerProcess(std::vector<std::string> extra_flags, uint64_t max_open_files,
                             std::optional<RunAs> run_as) {
  std::vector<std::string> argv;
  if (run_as.has_value()) {
    argv = {"/usr/bin/setpriv", "--reuid=" + std::to_string(run_as->uid),
            "--regid=" + std::to_string(run_as->gid), "--clear-groups", "--"};
    if (chown(dir_.path().c_str(), run_as->uid, run_as->gid) != 0) {
      startup_error_ = "cannot hand the worker's directory to uid " + std::to_string(run_as->uid);
      return;
    }
  }
  for (std::string arg :
       {WorkerBinary(), std::string("--listen"), std::string("127.0.0.1:0"),
        std::string("--cache-dir"), cache_dir().string()}) {
    argv.push_back(std::move(arg));
  }
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  ProcessOptions options;
  options.stdout_file = (dir_.path() / "stdout.log").string();
  options.stderr_file = (dir_.path() / "stderr.log").string();
  options.max_open_files = max_open_files;
  // Whatever a default would be, it must not be the user's own cache.
  options.env = {{"XDG_CACHE_HOME", (dir_.path() / "xdg-cache").string()}};
  process_ = std::make_unique<Subprocess>(argv, options);
  if (!process_->started() || !process_->error().empty()) {
    startup_error_ = process_->error();
    return;
  }

  static const std::regex kListening(R"(rexec-worker listening on (127\.0\.0\.1:(\d+))\n)");
  auto deadline = std::chrono::steady_clock::now() + kStartupTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = ReadFile(options.stdout_file);
    if (std::smatch match; std::regex_search(out, match, kListening)) {
      address_ = match[1];
      port_ = static_cast<uint16_t>(std::stoi(match[2]));
      // Printed with the address, in one flush.
      static const std::regex kMetrics(R"(metrics at http://127\.0\.0\.1:(\d+)/metrics\n)");
      static const std::regex kConsumer(R"(rexec-worker serving queue .* as (\S+)\n)");
      if (std::regex_search(out, match, kMetrics)) {
        metrics_port_ = static_cast<uint16_t>(std::stoi(match[1]));
      }
      if (std::regex_search(out, match, kConsumer)) consumer_ = match[1];
      return;
    }
    if (process_->Exited()) {
      startup_error_ = "rexec-worker exited before it was listening";
      return;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  startup_error_ = "rexec-worker did not report its address within 30 s";
}

WorkerProcess::~WorkerProcess() {
  if (!stopped_) Stop();
}

std::map<std::string, std::string> WorkerProcess::Stats() const {
  ProcessResult stats = RunProcess({StatsBinary(), address_});
  std::map<std::string, std::string> values;
  std::istringstream lines(stats.stdout_text);
  for (std::string line; std::getline(lines, line);) {
    size_t colon = line.find(": ");
    if (colon != std::string::npos) values[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return values;
}

std::string WorkerProcess::log() const {
  std::string log = "--- rexec-worker stdout ---\n" + ReadFile(dir_.path() / "stdout.log") +
                    "--- rexec-worker stderr ---\n" + ReadFile(dir_.path() / "stderr.log");
  if (!startup_error_.empty()) log += "--- " + startup_error_ + " ---\n";
  return log;
}

void WorkerProcess::Kill() { process_->Signal(SIGKILL); }

ProcessResult WorkerProcess::Stop(milliseconds timeout) {
  stopped_ = true;
  process_->Signal(SIGTERM);
  ProcessResult result = process_->Wait(timeout);
  result.stdout_text = ReadFile(dir_.path() / "stdout.log");
  result.stderr_text = ReadFile(dir_.path() / "stderr.log");
  return result;
}

}  // namespace rexec::testing
