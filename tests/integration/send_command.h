// Where the binaries and programs under test are, and how tests run rexec-send.
//
// Every rexec-send a test runs gets a private $XDG_CACHE_HOME (shared by the test executable,
// removed when it exits), so that neither its bitcode cache nor an embedded worker's cache is
// the user's; REXEC_WORKER and REXEC_TOKEN are removed unless a test sets them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/subprocess.h"

namespace rexec::testing {

std::string SendBinary();
std::string WorkerBinary();
std::string StatsBinary();
// A file or directory under tests/programs.
std::string ProgramPath(std::string_view name);

// `options` with the environment described above added (a test's own env entries win).
ProcessOptions SendOptions(ProcessOptions options = {});
// {rexec-send, args...}
std::vector<std::string> SendCommand(const std::vector<std::string>& args);

// Runs rexec-send with `args` and SendOptions(options).
ProcessResult RunSend(const std::vector<std::string>& args, ProcessOptions options = {});

}  // namespace rexec::testing
