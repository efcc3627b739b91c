#include "tests/integration/send_command.h"

#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

const TempDir& CacheHome() {
  static const TempDir dir;  // removed when the test executable exits
  return dir;
}

}  // namespace

std::string SendBinary() { return REXEC_SEND_BINARY; }
std::string WorkerBinary() { return REXEC_WORKER_BINARY; }
std::string StatsBinary() { return REXEC_STATS_BINARY; }
std::string ProgramPath(std::string_view name) {
  return std::string(REXEC_TEST_PROGRAMS_DIR) + "/" + std::string(name);
}

ProcessOptions SendOptions(ProcessOptions options) {
  std::vector<std::pair<std::string, std::optional<std::string>>> env = {
      {"XDG_CACHE_HOME", CacheHome().path().string()},
      {"REXEC_WORKER", std::nullopt},
      {"REXEC_TOKEN", std::nullopt},
  };
  env.insert(env.end(), options.env.begin(), options.env.end());  // applied last, so they win
  options.env = std::move(env);
  return options;
}

std::vector<std::string> SendCommand(const std::vector<std::string>& args) {
  std::vector<std::string> command = {SendBinary()};
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

ProcessResult RunSend(const std::vector<std::string>& args, ProcessOptions options) {
  ProcessOptions with_env = SendOptions(std::move(options));
  return RunProcess(SendCommand(args), with_env);
}

}  // namespace rexec::testing
