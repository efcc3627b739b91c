// The worker's side of its compile server (compile_server.h).
//
// The server is started with execve(), so it begins clean: none of the worker's memory (other
// clients' arguments and states, its token), none of its descriptors but one socket (its stdin
// and stdout), stderr on /dev/null, no core dumps, no new privileges, and it dies with the
// worker. With a sandbox it runs inside it like a job (sandbox.h): code that took over LLVM
// through crafted bitcode sees no file of the host, no network and no other process. It stays
// up between compiles; after it crashes, hits a fatal error, overruns the deadline or breaks the protocol,
// that one compile fails with the reason and the next compile starts a new server.
//
// Not thread-safe: the code cache uses it from its one background thread, which also gives the
// single flight per module (code_cache.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/jit/target_description.h"
#include "runtime/sandbox/sandbox.h"

namespace rexec {

struct CompileProcessOptions {
  std::string server_path;               // rexec-compile-server
  std::vector<std::string> server_args;  // after argv[0]
  std::chrono::milliseconds deadline = std::chrono::minutes(2);  // per compile
  uint64_t max_object_bytes = 256ull << 20;
  const Sandbox* sandbox = nullptr;  // null: the server runs unsandboxed (--sandbox off)
};

class CompileProcess {
 public:
  explicit CompileProcess(CompileProcessOptions options);
  ~CompileProcess();  // stops the server
  CompileProcess(const CompileProcess&) = delete;
  CompileProcess& operator=(const CompileProcess&) = delete;

  // What the server generates code for, as the first server said (starting one if none has
  // run). A later server that describes another target is refused, since its objects would be
  // cached under the first one's key. Unavailable when no server could be started.
  absl::StatusOr<TargetDescription> Describe();
  // What an earlier server described (remembered_target.h): Describe() answers it without
  // starting a server, and every server must describe the same. Call before Describe().
  void Assume(TargetDescription target) { target_ = std::move(target); }
  // What the last refused server described instead, if one was refused.
  const std::optional<TargetDescription>& refused_target() const { return refused_; }

  // The object for `bitcode`. InvalidArgument with LLVM's message (or how the server died) when
  // this bitcode cannot be compiled; DeadlineExceeded when compiling took too long;
  // Unavailable when no server could be started.
  absl::StatusOr<std::string> Compile(std::string_view bitcode);

  const std::string& server_path() const { return options_.server_path; }
  // The server's pid, -1 while none runs.
  pid_t server_pid() const { return pid_; }

 private:
  absl::Status Start();
  // Ends the server (SIGKILL unless it has already exited) and says how it ended.
  std::string Stop();

  const CompileProcessOptions options_;
  pid_t pid_ = -1;
  int channel_ = -1;  // a socket: the server's stdin and stdout
  std::optional<TargetDescription> target_;  // as the first server described it (or Assume)
  std::optional<TargetDescription> refused_;
};

}  // namespace rexec
