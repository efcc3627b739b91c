// rexec::Client: compile C++ locally, run it on a rexec worker.
//
//   auto client = rexec::Client::Connect("127.0.0.1:7070");   // or rexec::Client::Local()
//   auto module = (*client)->Compile({"main.cpp"}, {"-O2"});
//   auto report = (*client)->RunProgram(*module, {"arg1"});
//
// and for command classes (rexec/command.h), the object travels with the code:
//
//   auto result = (*client)->Run(*module, Sum{.xs = {1, 2}});   // StatusOr<Result<Sum>>
//   result->state.total;  result->exit_code;  result->stdout_text;
//   std::future<absl::StatusOr<Result<Sum>>> later = (*client)->Submit(*module, Sum{...});
//
// A Client owns one connection (to a worker, or to a Redis queue) and a thread that runs its event loop; its methods are
// synchronous and thread-safe. Errors are values: absl::Status for anything that kept the job
// from running (unreachable worker: kUnavailable; compile error: kInvalidArgument), a JobReport
// for everything the job itself did (exit code, signal, timeout, exception, ...).
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rexec/command.h"
#include "rexec/module.h"
#include "rexec/tls_options.h"
#include "rexec/worker.h"

namespace rexec {

struct ClientOptions {
  std::string token;                // presented to a worker that requires one
  // TLS to a direct worker (Connect): on with a CA file, which alone is trusted; a client
  // certificate for a worker that requires one (rexec/tls_options.h). Not for ConnectQueue.
  TlsOptions tls;
  uint32_t connect_timeout_ms = 5000;
  bool color_diagnostics = false;   // for Compile's diagnostics
  // Compiled bitcode is cached here, keyed by sources, every header they include, flags, target
  // and compiler version. Empty: $XDG_CACHE_HOME/rexec/bitcode; "-": no cache.
  std::string bitcode_cache_dir;

  // Queue mode (ConnectQueue): which queue, and how long a job may wait for a worker to take it
  // before the call fails (the job's deadline, so no worker starts it later either).
  std::string queue_name = "rexec";
  uint32_t queue_wait_ms = 60'000;
};

struct CompileReport {
  std::string diagnostics;  // clang's, warnings included (replayed on a cache hit)
  bool cache_hit = false;
};

// What the worker reported about itself.
struct WorkerDescription {
  std::string address;
  std::string rexec_version;
  std::string llvm_version;
  uint32_t protocol_version = 0;
  std::string triple;
  std::string data_layout;
  std::string cpu;
  uint64_t max_module_bytes = 0;
  uint64_t max_state_bytes = 0;
};

struct JobLimitsRequest {
  uint32_t wall_time_ms = 0;  // 0: the worker's default
  uint64_t memory_bytes = 0;
  uint64_t output_bytes = 0;
};

// Files a program takes along and brings back (rexec-send --input, --output). Inputs are
// content-addressed: one question for the whole tree tells which files the worker lacks, only
// those are uploaded (in bounded chunks), and the same tree sent again uploads nothing.
//
//   rexec::JobFiles files;
//   files.inputs = {{"data/"}, {"cfg.json", "conf/cfg.json"}};
//   files.outputs = {"out/result.csv"};
//   files.output_directory = ".";             // write them here; the report holds them too
//   auto report = client->RunProgram(module, {}, {}, {}, "sim", files);
struct FileInput {
  std::string source;       // a local file or directory (a link given here is followed)
  // Where it goes in the job's working directory (relative, no ".."). Empty: `source` itself
  // when relative, its last component when absolute. Inside a directory, links are followed
  // only to files within it; a link pointing elsewhere is refused.
  std::string destination;
};

struct JobFiles {
  std::vector<FileInput> inputs;
  // Files or directories in the job's working directory, fetched back after it ends.
  std::vector<std::string> outputs;
  uint64_t max_output_bytes = 0;  // all outputs together; 0: the worker's default (64M)
  std::string output_directory;   // where to write them locally; empty: the report only

  bool empty() const { return inputs.empty() && outputs.empty(); }
};

struct OutputFile {
  std::string path;  // relative to the job's working directory
  std::string data;
};

struct StageTimings {
  uint64_t upload_us = 0;  // 0 and upload_skipped when the worker already had the module
  bool upload_skipped = false;
  uint64_t compile_us = 0;
  bool compile_cached = false;
  uint64_t link_us = 0;
  bool link_cached = false;
  uint64_t run_us = 0;
  uint64_t total_us = 0;  // as seen by the client, from request to result
};

// How a job ended.
struct JobReport {
  enum class Outcome {
    kExited,               // exit_code
    kSignaled,             // signal
    kTimedOut,             // time_limit_ms
    kOutputLimitExceeded,  // output_limit_bytes
    kFailed,               // rexec could not run it: failure_stage, message
    kException,            // a command's main() threw: exception_type, message
  };
  Outcome outcome = Outcome::kFailed;
  int code = 0;  // exit code, or signal number
  uint32_t time_limit_ms = 0;
  uint64_t output_limit_bytes = 0;
  // "compile", "link", "start", "request", "internal", or "library" (a -lNAME the worker lacks)
  std::string failure_stage;
  std::string message;
  std::string exception_type;
  std::string state;  // a command's encoded state after main()
  std::string stdout_text;  // when output was not streamed
  std::string stderr_text;
  StageTimings timings;
  // JobFiles::outputs as found after the job (directories expanded to their files), and one
  // line for each that could not be returned (missing, over the bound, not writable here).
  std::vector<OutputFile> output_files;
  std::vector<std::string> output_problems;

  // The exit code a shell user expects: the program's own, 128+N for signal N, 124 for a
  // timeout, 125 when rexec could not run the program.
  int ShellExitCode() const;
  // One line for a user, e.g. "program killed by signal 11 (SIGSEGV)"; empty for a normal exit.
  std::string Describe() const;
};

// A worker's counters since it started (rexec-worker --stats).
struct WorkerStatistics {
  uint64_t modules = 0;  // bitcode modules held in memory
  uint64_t module_bytes = 0;
  uint64_t module_disk_bytes = 0;
  uint64_t object_cache_hits = 0;    // machine code found in the cache
  uint64_t object_cache_misses = 0;  // machine code generated
  uint64_t object_cache_entries = 0;
  uint64_t object_cache_bytes = 0;
  uint64_t object_disk_bytes = 0;
  uint64_t disk_evictions = 0;
  uint64_t corrupt_files_removed = 0;
  uint64_t linked_modules = 0;
  uint64_t compile_us = 0;  // total time spent generating code
  uint64_t link_us = 0;
  uint64_t jobs_run = 0;
  uint64_t jobs_failed = 0;
  // Through a queue (ConnectQueue): the live workers' counters summed, and these.
  uint64_t workers = 0;              // workers counted
  uint64_t queue_jobs = 0;           // jobs taken from the queue and answered
  uint64_t queue_garbage = 0;        // entries that were not rexec jobs
  uint64_t queue_expired = 0;        // not started: past their deadline, or client gone
  uint64_t queue_reclaimed = 0;      // taken over from a worker that stopped answering
  uint64_t queue_dead_lettered = 0;  // given up after too many deliveries
  // Jobs' input files.
  uint64_t file_missing_checks = 0;  // "which of these files do you lack" questions answered
  uint64_t file_upload_bytes = 0;    // input bytes received
  uint64_t files = 0;                // input files held
  uint64_t file_bytes = 0;
};

// A command job's outcome: the object after main(), main()'s result and what it printed. When
// main() did not return (it threw, crashed, timed out), `state` is the object as it was sent
// and `report` says what happened.
template <typename T>
struct Result {
  T state;
  int exit_code = 0;
  // False when main() never returned (the command called exit()): `state` is then the one sent.
  bool state_returned = false;
  std::string stdout_text;
  std::string stderr_text;
  JobReport report;

  bool ok() const { return report.outcome == JobReport::Outcome::kExited; }
};

// Where a program's standard streams go on the client. -1 for stdin: empty input.
struct ProgramStreams {
  int stdin_fd = -1;
  int stdout_fd = 1;
  int stderr_fd = 2;
};

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const std::string& address,
                                                         ClientOptions options = {});
  // Sends jobs through a Redis queue that any number of workers serve (rexec-worker --queue):
  // redis://[[user]:password@]host[:port][/db]. The same API as a direct worker; output
  // streams, stdin is sent up front (bounded), and each result arrives once.
  static absl::StatusOr<std::unique_ptr<Client>> ConnectQueue(const std::string& url,
                                                              ClientOptions options = {});
  // Starts a worker inside this process (on loopback, port chosen by the system) and connects.
  static absl::StatusOr<std::unique_ptr<Client>> Local(WorkerOptions worker_options = {},
                                                       ClientOptions options = {});
  ~Client();

  const WorkerDescription& worker() const;

  // Compiles for the worker's target, or takes the module from the bitcode cache. Without a
  // `report`, a compile error's diagnostics are in the status message.
  //
  // Libraries are given as a native link takes them (compiler/link_inputs.h has the rules):
  // `sources` may hold .bc modules (linked into the module here), static archives (.a) and
  // objects (.o), and `flags` -LDIR and -lNAME. Archives, objects and -lNAME found here as a
  // static archive end up in the module's `libraries` and are uploaded with it, only when the
  // worker lacks them; they must be machine code for the worker's target. Any other -lNAME is
  // the worker's own shared library of that name, and the runtime libraries (-lm, -lpthread,
  // -lstdc++, -ldl, -lrt) need nothing.
  //
  //   client->Compile({"main.cpp", "libgeom.a", "helpers.o", "extra.bc"}, {"-O2", "-lz"});
  absl::StatusOr<Module> Compile(const std::vector<std::string>& sources,
                                 const std::vector<std::string>& flags,
                                 CompileReport* report = nullptr);

  // Compile without a connection: for a worker whose target is `triple`, with `options`' cache
  // and diagnostics settings. rexec-send compiles for its own machine's target while it
  // connects (to a remote worker, a TLS handshake and a login take several round trips).
  static absl::StatusOr<Module> CompileFor(const std::string& triple,
                                           const std::vector<std::string>& sources,
                                           const std::vector<std::string>& flags,
                                           const ClientOptions& options,
                                           CompileReport* report = nullptr);

  // Uploads the module unless the worker already holds it. `skipped` tells which happened.
  absl::Status Upload(const Module& module, bool* skipped = nullptr);

  // Runs the module's main() with argv = {name, args...}. Output streams to `streams` while it
  // runs; stdin is read from streams.stdin_fd on demand. Uploads the module if needed, and the
  // input `files` the worker lacks; a bad input (a path leaving the working directory, a link
  // pointing outside what was given) is InvalidArgument before anything is sent. Through a
  // queue (ConnectQueue), inputs travel through Redis by content hash (at most 512M each).
  absl::StatusOr<JobReport> RunProgram(const Module& module, const std::vector<std::string>& args,
                                       ProgramStreams streams = {}, JobLimitsRequest limits = {},
                                       const std::string& name = "program",
                                       const JobFiles& files = {});

  // Runs REXEC_COMMAND(name) with an encoded state (rexec::encode_state); the new state is in
  // the report's `state`, the output in stdout_text/stderr_text. Run<T> below is the typed form.
  absl::StatusOr<JobReport> RunCommand(const Module& module, const std::string& name,
                                       const std::string& state, JobLimitsRequest limits = {});
  // The same, with the command's output streamed to `streams` while it runs (as a program's is)
  // instead of returned in the report; its stdin is read from streams.stdin_fd.
  absl::StatusOr<JobReport> RunCommand(const Module& module, const std::string& name,
                                       const std::string& state, JobLimitsRequest limits,
                                       ProgramStreams streams, const JobFiles& files = {});
  // With files, as RunProgram takes them: the command runs in a working directory of its own,
  // on an executor started for it alone (a warm executor's directory is shared between jobs).
  absl::StatusOr<JobReport> RunCommand(const Module& module, const std::string& name,
                                       const std::string& state, JobLimitsRequest limits,
                                       const JobFiles& files);
  // Starts the job and returns at once; `done` is called (on the client's own thread) when it
  // ends. Many jobs may be in flight on one connection.
  void SubmitCommand(const Module& module, const std::string& name, std::string state,
                     JobLimitsRequest limits,
                     std::function<void(absl::StatusOr<JobReport>)> done);

  // Runs T::main() on the worker with `command` as its state; T must be a REXEC_COMMAND in
  // `module`.
  template <typename T>
  absl::StatusOr<Result<T>> Run(const Module& module, const T& command,
                                JobLimitsRequest limits = {}) {
    return ToResult(command, RunCommand(module, command_traits<T>::name, encode_state(command),
                                        limits));
  }

  // Run with files (JobFiles, as for RunProgram); the outputs are in result.report.
  template <typename T>
  absl::StatusOr<Result<T>> Run(const Module& module, const T& command, JobLimitsRequest limits,
                                const JobFiles& files) {
    return ToResult(command, RunCommand(module, command_traits<T>::name, encode_state(command),
                                        limits, files));
  }

  // Like Run, without waiting: many jobs may be in flight on one connection.
  template <typename T>
  std::future<absl::StatusOr<Result<T>>> Submit(const Module& module, const T& command,
                                                JobLimitsRequest limits = {}) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<Result<T>>>>();
    std::future<absl::StatusOr<Result<T>>> future = promise->get_future();
    SubmitCommand(module, command_traits<T>::name, encode_state(command), limits,
                  [promise, command](absl::StatusOr<JobReport> report) {
                    promise->set_value(ToResult(command, std::move(report)));
                  });
    return future;
  }

  // A module from bitcode built ahead of time (rexec_add_commands in CMake), so a program can
  // ship commands without a compiler at run time.
  static absl::StatusOr<Module> Load(std::string bitcode);

  absl::StatusOr<WorkerStatistics> Stats();

  // One empty round trip to the worker.
  absl::Status Ping();
  // Starts a ping and returns at once; `done` is called on the client's thread (benchmarks).
  void SubmitPing(std::function<void(absl::Status)> done);

  class Impl;

 private:
  template <typename T>
  static absl::StatusOr<Result<T>> ToResult(const T& sent, absl::StatusOr<JobReport> report) {
    if (!report.ok()) return report.status();
    if (report->outcome == JobReport::Outcome::kFailed) {
      return absl::FailedPreconditionError(report->Describe());
    }
    Result<T> result{sent, 0, false, std::move(report->stdout_text),
                     std::move(report->stderr_text), std::move(*report)};
    if (result.ok()) {
      result.exit_code = result.report.code;
      // Every encoded state holds at least its fingerprint: empty means none came back.
      result.state_returned = !result.report.state.empty();
      if (!result.state_returned) return result;
      std::string error;
      if (!decode_state(result.report.state, result.state, &error)) {
        return absl::DataLossError("the worker returned a state that does not decode: " + error);
      }
    }
    return result;
  }

  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rexec
