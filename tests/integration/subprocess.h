// Runs a binary in a child process with pipes for its standard streams, for tests that drive the
// real rexec executables.
//
// Nothing here can hang a test: every wait has a deadline, a child still running at its deadline
// is killed with SIGKILL (and the result says so), and a Subprocess that goes out of scope kills
// and reaps its child. The child leads a process group of its own; once it has ended, whatever
// it left running in that group is killed too. All three pipes are serviced together with poll(),
// so a child that writes a lot before it reads its stdin cannot deadlock against us.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rexec::testing {

using std::chrono::milliseconds;

struct ProcessOptions {
  std::string stdin_data;        // written to the child's stdin, which is then closed...
  bool keep_stdin_open = false;  // ...unless this is set: see Subprocess::WriteStdin
  milliseconds timeout{60'000};
  // Variables set (name, value) or removed (name, nullopt) in the child's environment.
  std::vector<std::pair<std::string, std::optional<std::string>>> env;
  std::string working_dir;      // empty: the test's own
  uint64_t max_open_files = 0;  // non-zero: the child's RLIMIT_NOFILE
  // Non-empty: the stream goes to this file instead of a pipe (for long-lived servers whose
  // output nobody reads continuously).
  std::string stdout_file;
  std::string stderr_file;
  // Non-empty: stdin is this file, opened for reading (stdin_data is then ignored).
  std::string stdin_file;
};

struct ProcessResult {
  bool exited = false;  // normal exit: exit_code is valid
  int exit_code = -1;
  int signal = 0;  // killed by this signal (including our own SIGKILL at the timeout)
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
  milliseconds elapsed{0};  // from start until it ended
};

// For gtest failure messages: how it ended and everything it wrote.
std::ostream& operator<<(std::ostream& out, const ProcessResult& result);

enum class Stream { kStdout, kStderr };

class Subprocess {
 public:
  // Starts argv[0] (a path) with argv. If it cannot be started, started() is false and error()
  // says why.
  Subprocess(const std::vector<std::string>& argv, ProcessOptions options = {});
  ~Subprocess();  // SIGKILLs and reaps the child if it is still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }

  // With keep_stdin_open: more input for the child, written as the pipes are serviced, and the
  // end of it.
  void WriteStdin(std::string_view data);
  void CloseStdin();

  // Services the pipes until `stream` contains `text`, the child exits or `timeout` passes.
  // Returns whether the text arrived.
  bool WaitForOutput(Stream stream, std::string_view text, milliseconds timeout);
  // Output received so far.
  const std::string& output(Stream stream) const;

  void Signal(int signal);
  // Whether the child has exited (reaps it if so).
  bool Exited();

  // Services the pipes until the child exits; `timeout` from now, kills it with SIGKILL. Returns
  // everything it wrote. Call once.
  ProcessResult Wait(milliseconds timeout);

 private:
  // One round of poll() over the open pipes, for at most `timeout`.
  void Pump(milliseconds timeout);
  bool Reap(bool block);
  void CloseAll();

  pid_t pid_ = -1;
  std::string error_;
  int stdin_fd_ = -1, stdout_fd_ = -1, stderr_fd_ = -1;
  std::string stdin_data_;
  size_t stdin_written_ = 0;
  bool close_stdin_when_written_ = true;
  std::string stdout_text_, stderr_text_;
  std::chrono::steady_clock::time_point started_at_;
  std::optional<int> wait_status_;
};

// Starts argv, feeds it options.stdin_data and waits for it (at most options.timeout).
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

}  // namespace rexec::testing
