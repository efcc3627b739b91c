// rexec-send: compile C or C++ here, run it on a rexec worker.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "compiler/compile_flags.h"
#include "compiler/link_inputs.h"
#include "core/elapsed.h"
#include "rexec/build_config.h"
#include "rexec/client.h"
#include "schema/rexec.capnp.h"
#include "tools/command_selection.h"
#include "tools/flag_values.h"

namespace {

constexpr int kExitRexecFailure = 125;   // could not run the program (compile, link, upload)
constexpr int kExitUnreachable = 255;    // no worker, or the worker went away

constexpr char kUsage[] = R"(usage: rexec-send [options] [clang flags] SOURCE... [-- ARG...]

Compiles C and C++ sources here (clang 19, in-process) into one LLVM bitcode module, sends it to
a rexec worker, runs its main() there in a fresh process and streams stdin, stdout and stderr.
The exit code is the program's own. Sources that define command classes (REXEC_COMMAND, see
rexec/command.h) run a command instead: its state goes in, T::main() runs, the state comes back.

  rexec-send hello.cpp                       run on an embedded worker in this process
  rexec-send --worker 127.0.0.1:7070 -O2 -std=c++20 main.cpp util.cpp -- arg1 arg2 < in.txt
  rexec-send main.cpp libgeom.a -L./lib -lhelpers -lz   with libraries (see below)
  rexec-send cmds.cpp --list                 the commands in cmds.cpp and their fields
  rexec-send cmds.cpp --command Sum --set 'xs=[1,2.5]' --print-state
  rexec-send main.cpp --input small.cnf -- -verbosity=0 small.cnf
  rexec-send sim.cpp --input data/ --output out/result.csv

options:
  --worker HOST:PORT   the worker to use (default: $REXEC_WORKER; if unset, an embedded worker)
  --queue URL          send the job through a Redis queue that rexec-worker --queue serves
                       (redis://[[user]:password@]host[:port][/db]; default: $REXEC_QUEUE).
                       Standard input is read whole before the job is sent (at most 16M;
                       none from a terminal).
  --queue-name NAME    which queue (default rexec)
  --queue-wait SECONDS fail if no worker takes the job within this long (default 60)
  --token-file FILE    token for a worker that requires one (default: $REXEC_TOKEN)
  --tls-ca FILE        connect to --worker over TLS, trusting only the CA certificate(s) in FILE
                       (PEM; the system's CA store is not used). The worker's certificate must
                       name the host dialed.
  --tls-cert FILE      with --tls-key: a client certificate, for a worker that requires one
  --tls-key FILE       (TLS is for --worker only: the queue's Redis connection is plain)
  --timeout SECONDS    kill the program after this long (exit code 124)
  --memory BYTES       limit the memory the program maps, shared memory included (K, M, G)
  --max-output BYTES   kill the program once it has written this much
  --no-cache           compile even if the bitcode cache has this module
  -v, --verbose        print each stage and its time to stderr

files (programs, and commands, which then run on an executor of their own):
  --input PATH[:DEST]  a file or directory the program finds in its working directory, at PATH
                       (at DEST if given; relative, no '..'). Inside a directory, links are
                       followed only to files within it. Only files the worker lacks are
                       uploaded (by content hash). Repeatable.
  --output PATH        after the program ends, fetch this file or directory from its working
                       directory to PATH here. Repeatable.
  --max-output-files BYTES  fetch at most this much in all (default: the worker's, 64M)

command classes:
  --list               print the commands (and their fields) the sources define, run nothing
  --command NAME       the command to run (may be left out when the sources define one)
  --set FIELD=VALUE    set a field of the command's state; VALUE is JSON (a bare word is a
                       string); fields not set keep their defaults. Repeatable.
  --print-state        print the state main() returned, as JSON, on stdout
  --state-out FILE     write the state main() returned, as JSON, to FILE
  --help               this text
  --version            versions of rexec, LLVM and the protocol

clang flags: -O0 -O1 -O2 -O3 -Os -g -std=... -DNAME[=VALUE] -UNAME -IDIR -isystem DIR
             -include FILE -w -W... -f... -pthread. Sources ending in .c compile as C.
Arguments after -- are passed to the program (argv[1]...).

libraries, as a native link takes them:
  FILE.bc              LLVM bitcode (clang -c -emit-llvm), linked into the module here
  FILE.a, FILE.o       a static archive or an object (machine code for the worker's target),
                       shipped to the worker (only when it lacks it) and linked by its JIT
  -LDIR                where -lNAME looks first, before the system library directories
  -lNAME               libNAME.a in a -L directory, or in a system directory that has no
                       libNAME.so, is shipped; otherwise the worker's own libNAME.so from its
                       system library directories ("library not found: -lNAME" and exit 125
                       when it has none). -lm -lpthread -lstdc++ -ldl -lrt need nothing.

exit codes: the program's own; 128+N if killed by signal N; 124 on timeout;
            125 if rexec could not run the program (compile or link error, bad flags);
            255 if the worker cannot be reached or goes away.
)";

struct SendOptions {
  std::string worker;
  std::string queue;
  std::string queue_name = "rexec";
  uint32_t queue_wait_ms = 60'000;
  std::string token;
  rexec::TlsOptions tls;
  std::vector<std::string> sources;
  std::vector<std::string> clang_flags;
  std::vector<std::string> program_args;
  rexec::JobLimitsRequest limits;
  rexec::JobFiles files;
  bool verbose = false;
  bool use_cache = true;
  bool list = false;
  std::string command;
  std::vector<std::string> assignments;
  bool print_state = false;
  std::string state_out;

  bool wants_command() const {
    return !command.empty() || !assignments.empty() || print_state || !state_out.empty();
  }
};

int Fail(int code, const std::string& message) {
  std::cerr << "rexec: " << message << "\n";
  return code;
}

// Returns an exit code to stop with, or -1 to go on.
int ParseArguments(int argc, char** argv, SendOptions& options) {
  if (const char* worker = std::getenv("REXEC_WORKER"); worker != nullptr) options.worker = worker;
  if (const char* token = std::getenv("REXEC_TOKEN"); token != nullptr) options.token = token;
  if (const char* queue = std::getenv("REXEC_QUEUE"); queue != nullptr) options.queue = queue;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string value, error;
    auto flag = [&](std::string_view name) {
      return rexec::MatchFlag(name, argc, argv, i, value, error);
    };
    if (arg == "--") {
      options.program_args.assign(argv + i + 1, argv + argc);
      break;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--version") {
      std::cout << "rexec-send " << rexec::kRexecVersion << "\nLLVM " << rexec::kLlvmVersion
                << "\nprotocol " << rexec::wire::PROTOCOL_VERSION << "\n";
      return 0;
    } else if (arg == "-v" || arg == "--verbose") {
      options.verbose = true;
    } else if (arg == "--no-cache") {
      options.use_cache = false;
    } else if (arg == "--list") {
      options.list = true;
    } else if (arg == "--print-state") {
      options.print_state = true;
    } else if (flag("--command")) {
      options.command = value;
    } else if (flag("--set")) {
      options.assignments.push_back(value);
    } else if (flag("--state-out")) {
      options.state_out = value;
    } else if (flag("--worker")) {
      options.worker = value;
      options.queue.clear();  // the flag given wins over the other's environment variable
    } else if (flag("--queue")) {
      options.queue = value;
      options.worker.clear();
    } else if (flag("--queue-name")) {
      options.queue_name = value;
    } else if (flag("--queue-wait")) {
      if (error.empty()) {
        auto ms = rexec::ParseSecondsAsMilliseconds(value);
        if (!ms.ok()) return Fail(kExitRexecFailure, std::string(ms.status().message()));
        options.queue_wait_ms = *ms;
      }
    } else if (flag("--token-file")) {
      if (error.empty()) {
        auto token = rexec::ReadTokenFile(value);
        if (!token.ok()) return Fail(kExitRexecFailure, std::string(token.status().message()));
        options.token = *token;
      }
    } else if (flag("--input")) {
      // SRC:DEST splits at the last ':' (a source path may hold one; a destination may not).
      const size_t colon = value.rfind(':');
      options.files.inputs.push_back(
          colon == std::string::npos
              ? rexec::FileInput{value, ""}
              : rexec::FileInput{value.substr(0, colon), value.substr(colon + 1)});
      if (colon != std::string::npos && options.files.inputs.back().destination.empty()) {
        return Fail(kExitRexecFailure, absl::StrCat("--input ", value, ": DEST after ':' is empty"));
      }
    } else if (flag("--output")) {
      options.files.outputs.push_back(value);
    } else if (flag("--max-output-files")) {
      if (error.empty()) {
        auto bytes = rexec::ParseByteSize(value);
        if (!bytes.ok()) return Fail(kExitRexecFailure, std::string(bytes.status().message()));
        options.files.max_output_bytes = *bytes;
      }
    } else if (flag("--tls-ca")) {
      options.tls.ca_file = value;
    } else if (flag("--tls-cert")) {
      options.tls.certificate_file = value;
    } else if (flag("--tls-key")) {
      options.tls.key_file = value;
    } else if (flag("--timeout")) {
      if (error.empty()) {
        auto ms = rexec::ParseSecondsAsMilliseconds(value);
        if (!ms.ok()) return Fail(kExitRexecFailure, std::string(ms.status().message()));
        options.limits.wall_time_ms = *ms;
      }
    } else if (flag("--memory") || flag("--max-output")) {
      if (error.empty()) {
        auto bytes = rexec::ParseByteSize(value);
        if (!bytes.ok()) return Fail(kExitRexecFailure, std::string(bytes.status().message()));
        (arg.substr(0, arg.find('=')) == "--memory" ? options.limits.memory_bytes
                                                    : options.limits.output_bytes) = *bytes;
      }
    } else if (arg.starts_with("--")) {
      return Fail(kExitRexecFailure, absl::StrCat("unknown option ", std::string(arg), " (see --help)"));
    } else if (arg.starts_with("-") && arg.size() > 1) {
      options.clang_flags.emplace_back(arg);
      if ((rexec::CompileFlagTakesValue(std::string(arg)) ||
           rexec::LinkFlagTakesValue(std::string(arg))) &&
          i + 1 < argc) {
        options.clang_flags.emplace_back(argv[++i]);
      }
    } else {
      options.sources.emplace_back(arg);
    }
    if (!error.empty()) return Fail(kExitRexecFailure, error);
  }
  if (options.sources.empty()) {
    std::cerr << "rexec: no source files given\n\n" << kUsage;
    return kExitRexecFailure;
  }
  return -1;
}

std::string Milliseconds(uint64_t us) { return absl::StrFormat("%.1f ms", us / 1000.0); }

void PrintTimings(const rexec::StageTimings& t, uint64_t compile_us, bool cache_hit) {
  std::cerr << "rexec: compile " << (cache_hit ? "cache hit " : "") << Milliseconds(compile_us)
            << "; upload "
            << (t.upload_skipped ? "skipped (worker has it)" : Milliseconds(t.upload_us))
            << "; jit " << (t.compile_cached ? "cached" : Milliseconds(t.compile_us)) << "; link "
            << (t.link_cached ? "cached" : Milliseconds(t.link_us)) << "; run "
            << Milliseconds(t.run_us) << "; total job " << Milliseconds(t.total_us) << "\n";
}

int ReportFailure(const absl::Status& status) {
  int code = status.code() == absl::StatusCode::kUnavailable ? kExitUnreachable
                                                             : kExitRexecFailure;
  return Fail(code, std::string(status.message()));
}

// Prints how the job ended, if not normally, and returns the exit code for it.
int Finish(const SendOptions& options, const rexec::JobReport& report, uint64_t compile_us,
           bool cache_hit) {
  for (const std::string& problem : report.output_problems) {
    std::cerr << "rexec: " << problem << "\n";
  }
  if (options.verbose) PrintTimings(report.timings, compile_us, cache_hit);
  if (std::string description = report.Describe(); !description.empty()) {
    std::cerr << "rexec: " << description << "\n";
  }
  return report.ShellExitCode();
}

int RunCommand(rexec::Client& client, const rexec::Module& module, const SendOptions& options,
               uint64_t compile_us, bool cache_hit) {
  absl::StatusOr<const rexec::CommandInfo*> command = rexec::ChooseCommand(module, options.command);
  if (!command.ok()) return Fail(kExitRexecFailure, std::string(command.status().message()));
  absl::StatusOr<std::string> state =
      rexec::StateFromAssignments(**command, options.assignments);
  if (!state.ok()) return Fail(kExitRexecFailure, std::string(state.status().message()));

  // Output streams as it is written, as a program's does; a command's input is its state (and
  // its files), so its stdin stays empty.
  rexec::JobFiles files = options.files;
  files.output_directory = ".";
  absl::StatusOr<rexec::JobReport> report = client.RunCommand(
      module, (*command)->name, *state, options.limits,
      rexec::ProgramStreams{-1, STDOUT_FILENO, STDERR_FILENO}, files);
  if (!report.ok()) return ReportFailure(report.status());
  // Every encoded state holds at least its fingerprint: an empty one means main() never
  // returned (the command called exit()), so there is no new state to show.
  const bool state_returned = !report->state.empty();
  if (report->outcome == rexec::JobReport::Outcome::kExited && !state_returned) {
    std::cerr << "rexec: the command called exit(" << report->code
              << ") before main() returned: no state came back\n";
  }
  if (report->outcome == rexec::JobReport::Outcome::kExited && state_returned &&
      (options.print_state || !options.state_out.empty())) {
    absl::StatusOr<std::string> json = rexec::StateAsJson(**command, report->state);
    if (!json.ok()) return Fail(kExitRexecFailure, std::string(json.status().message()));
    if (options.print_state) std::cout << *json << "\n";
    if (!options.state_out.empty()) {
      std::ofstream out(options.state_out, std::ios::trunc);
      if (!(out << *json << "\n")) {
        return Fail(kExitRexecFailure, absl::StrCat("cannot write ", options.state_out));
      }
    }
  }
  return Finish(options, *report, compile_us, cache_hit);
}

}  // namespace

int main(int argc, char** argv) {
  SendOptions options;
  if (int code = ParseArguments(argc, argv, options); code >= 0) return code;

  rexec::ClientOptions client_options;
  client_options.token = options.token;
  client_options.tls = options.tls;
  client_options.color_diagnostics = isatty(STDERR_FILENO) != 0;
  if (!options.use_cache) client_options.bitcode_cache_dir = "-";
  client_options.queue_name = options.queue_name;
  client_options.queue_wait_ms = options.queue_wait_ms;
  // With both REXEC_WORKER and REXEC_QUEUE set and neither flag, the direct worker wins.
  const bool use_queue = !options.queue.empty() && options.worker.empty();
  const bool uses_tls = !options.tls.ca_file.empty() || !options.tls.certificate_file.empty() ||
                        !options.tls.key_file.empty();
  if (uses_tls && (use_queue || options.worker.empty())) {
    return Fail(kExitRexecFailure,
                "--tls-ca, --tls-cert and --tls-key apply to a --worker connection only");
  }
  // The module is compiled (or taken from the bitcode cache) while the connection is made, for
  // the target rexec was built for: a worker's unless it runs on another architecture, whose
  // module is compiled below once its description has come. Even when the connection fails, the
  // compile is not lost: it is in the cache for the next run.
  rexec::CompileReport compile_report;
  uint64_t compile_us = 0;
  std::future<absl::StatusOr<rexec::Module>> compiled = std::async(std::launch::async, [&] {
    auto started = std::chrono::steady_clock::now();
    absl::StatusOr<rexec::Module> module = rexec::Client::CompileFor(
        rexec::kHostTriple, options.sources, options.clang_flags, client_options, &compile_report);
    compile_us = rexec::MicrosecondsSince(started);
    return module;
  });
  absl::StatusOr<std::unique_ptr<rexec::Client>> client =
      use_queue                ? rexec::Client::ConnectQueue(options.queue, client_options)
      : options.worker.empty() ? rexec::Client::Local({}, client_options)
                               : rexec::Client::Connect(options.worker, client_options);
  absl::StatusOr<rexec::Module> module = compiled.get();
  if (!client.ok()) {
    std::cerr << compile_report.diagnostics;
    return Fail(kExitUnreachable, std::string(client.status().message()));
  }
  // An empty triple: no worker has described itself yet (a queue), so this machine's target.
  const std::string& worker_triple = (*client)->worker().triple;
  if (!worker_triple.empty() && worker_triple != rexec::kHostTriple) {
    auto compile_started = std::chrono::steady_clock::now();
    compile_report = {};
    module = (*client)->Compile(options.sources, options.clang_flags, &compile_report);
    compile_us = rexec::MicrosecondsSince(compile_started);
  }
  std::cerr << compile_report.diagnostics;
  if (!module.ok()) return Fail(kExitRexecFailure, std::string(module.status().message()));

  if (options.list) {
    absl::StatusOr<std::string> listing = rexec::DescribeEntryPoints(*module);
    if (!listing.ok()) return Fail(kExitRexecFailure, std::string(listing.status().message()));
    std::cout << *listing;
    return 0;
  }
  // A plain program runs as one unless a command was asked for; without main(), a command.
  if (options.wants_command() || !module->has_main) {
    if (module->commands.empty()) {
      return Fail(kExitRexecFailure, "the sources define no main() and no REXEC_COMMAND to run");
    }
    return RunCommand(**client, *module, options, compile_us, compile_report.cache_hit);
  }

  std::string name = std::filesystem::path(options.sources.front()).stem().string();
  // A queued job carries its whole stdin, read before it is sent: from a terminal that would
  // wait for input the program may never want, so a terminal gives none.
  const int stdin_fd = use_queue && isatty(STDIN_FILENO) ? -1 : STDIN_FILENO;
  options.files.output_directory = ".";
  absl::StatusOr<rexec::JobReport> report = (*client)->RunProgram(
      *module, options.program_args, {stdin_fd, STDOUT_FILENO, STDERR_FILENO}, options.limits,
      name, options.files);
  if (!report.ok()) return ReportFailure(report.status());
  return Finish(options, *report, compile_us, compile_report.cache_hit);
}
