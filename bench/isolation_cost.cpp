// What isolation costs, measured inside the benchmark only (the product always isolates): the
// same trivial command run (a) by a direct call of its JIT-linked entry in this process, (b) on
// a warm executor process (the product's path, without RPC), and (c) as a fresh process per job
// forked from the module's template (how plain programs run), without and inside the job
// sandbox; and what starting a module's template costs, once per module.
#include <cstdio>
#include <string>
#include <thread>

#include "bench/bench_stats.h"
#include "bench/programs/trivial_command.h"
#include "compiler/compiler.h"
#include "runtime/exec/child_runtime.h"
#include "runtime/exec/command_pool.h"
#include "runtime/exec/program_executor.h"
#include "runtime/jit/jit_session.h"
#include "core/helper_binary.h"
#include "runtime/jit/object_compiler.h"
#include "tests/support/temp_dir.h"

namespace {

using rexec::bench::Clock;
using rexec::bench::MicrosecondsBetween;
using rexec::bench::Percentile;

rexec::Module Compile(const std::string& source) {
  rexec::testing::TempDir dir;
  std::string diagnostics;
  auto module = rexec::CompileToBitcode(
      {{dir.Write("m.cpp", source)}, {"-O2", "-I" BENCH_SOURCE_DIR "/programs"}, "", false},
      diagnostics);
  if (!module.ok()) {
    std::fprintf(stderr, "%s\n%s\n", std::string(module.status().message()).c_str(),
                 diagnostics.c_str());
    std::exit(1);
  }
  return *module;
}

// `pause`: idle time before each timed run, as between the jobs of a client that waits for each
// result; a module template uses it to start the next job's processes.
template <typename Job>
double MedianMicros(int runs, Job job, std::chrono::microseconds pause = {}) {
  for (int i = 0; i < runs / 10; ++i) job();
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
    auto before = Clock::now();
    job();
    samples.push_back(MicrosecondsBetween(before, Clock::now()));
  }
  return Percentile(samples, 50);
}

}  // namespace

int main() {
  auto io = kj::setupAsyncIo();
  rexec::ExecutionContext context{*io.lowLevelProvider, io.unixEventPort, io.provider->getTimer()};
  auto compiler = rexec::ObjectCompiler::ForHost();
  auto session = rexec::JitSession::Create(rexec::ChildRuntimeSymbols());
  auto template_binary = rexec::FindHelperBinary("rexec-module-template");
  auto sandbox = rexec::Sandbox::Create({});
  if (!compiler.ok() || !session.ok() || !template_binary.ok()) return 1;
  if (!sandbox.ok()) {
    std::fprintf(stderr, "no sandbox here: %s\n", std::string(sandbox.status().message()).c_str());
    return 1;
  }
  rexec::Module command_module = Compile("#include \"trivial_command.h\"\n");
  rexec::Module program_module = Compile("int main() { return 0; }\n");
  auto command_object = (*compiler)->Compile(command_module.bitcode);
  auto program_object = (*compiler)->Compile(program_module.bitcode);
  if (!command_object.ok() || !program_object.ok()) return 1;
  auto start_template = [&](const rexec::Module& module, const std::string& object,
                            const rexec::Sandbox* where) {
    auto started = rexec::ModuleTemplate::Start({*template_binary, where}, module.hash, object);
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", std::string(started.status().message()).c_str());
      std::exit(1);
    }
    return std::shared_ptr<const rexec::ModuleTemplate>(*started);
  };
  auto commands = start_template(command_module, *command_object, nullptr);
  auto program = start_template(program_module, *program_object, nullptr);
  auto commands_sandboxed = start_template(command_module, *command_object, sandbox->get());
  auto program_sandboxed = start_template(program_module, *program_object, sandbox->get());
  double template_start = MedianMicros(20, [&] {
    start_template(program_module, *program_object, sandbox->get());
  });

  // The direct call runs in this process: link here, and run the initializers too.
  auto linked = (*session)->Link(command_module.hash, *command_object);
  if (!linked.ok()) return 1;
  std::string state = rexec::encode_state(Trivial{1});
  auto entry = reinterpret_cast<int (*)(const rexec_command_call*)>((*linked)->command("Trivial"));
  (*linked)->init()();
  double direct = MedianMicros(100000, [&] {
    std::string out;
    rexec_command_call call{reinterpret_cast<const unsigned char*>(state.data()), state.size(),
                            &out,
                            [](void* c, const unsigned char* d, size_t n) {
                              static_cast<std::string*>(c)->assign(reinterpret_cast<const char*>(d), n);
                            },
                            [](void*, int, const char*, const char*) {}};
    entry(&call);
  });

  // A warm executor, without and with the sandbox it entered once when it started.
  auto warm_executor = [&](const std::shared_ptr<const rexec::ModuleTemplate>& module) {
    rexec::CommandPool pool(context, module, 1, 1 << 20);
    return MedianMicros(5000, [&] {
      rexec::BufferedJobIo output;
      pool.Run("Trivial", state, {}, output).wait(io.waitScope);
    });
  };
  double executor = warm_executor(commands);
  double executor_sandboxed = warm_executor(commands_sandboxed);
  // Back to back, each run also waits for the template to start the next run's processes; after
  // a pause, as a client waiting for each result sees it, they are ready.
  auto fresh_process = [&](const std::shared_ptr<const rexec::ModuleTemplate>& module,
                           std::chrono::microseconds pause) {
    return MedianMicros(1000, [&] {
      rexec::BufferedJobIo output;
      rexec::RunProgram(context, module, {"p"}, {}, output).wait(io.waitScope);
    }, pause);
  };
  constexpr std::chrono::milliseconds kPause{3};
  double forked = fresh_process(program, {});
  double forked_paused = fresh_process(program, kPause);
  // The product's default: the same fresh process, inside the job sandbox.
  double forked_sandboxed = fresh_process(program_sandboxed, {});
  double forked_sandboxed_paused = fresh_process(program_sandboxed, kPause);
  // Spawning a command executor (once per executor, not per job) with and without it.
  auto spawn_executor = [&](const std::shared_ptr<const rexec::ModuleTemplate>& module) {
    return MedianMicros(200, [&] {
      rexec::CommandPool fresh(context, module, 1, 1 << 20);
      rexec::BufferedJobIo output;
      fresh.Run("Trivial", state, {}, output).wait(io.waitScope);
    });
  };
  double spawn = spawn_executor(commands);
  double spawn_sandboxed = spawn_executor(commands_sandboxed);
  std::printf("| direct call in the worker (no isolation) | %.2f µs | 1× |\n", direct);
  std::printf("| warm executor process (command jobs), no sandbox | %.1f µs | %.0f× |\n",
              executor, executor / direct);
  std::printf("| warm executor process, sandboxed (the default) | %.1f µs | %.0f× |\n",
              executor_sandboxed, executor_sandboxed / direct);
  std::printf("| fresh process per job (plain programs), back to back, no sandbox | %.0f µs | %.0f× |\n",
              forked, forked / direct);
  std::printf("| fresh process per job, back to back, sandboxed (the default) | %.0f µs | %.0f× |\n",
              forked_sandboxed, forked_sandboxed / direct);
  std::printf("| sandbox cost per plain-program job, back to back | +%.0f µs | |\n",
              forked_sandboxed - forked);
  std::printf("| fresh process per job, %lld ms apart, no sandbox | %.0f µs | %.0f× |\n",
              static_cast<long long>(kPause.count()), forked_paused, forked_paused / direct);
  std::printf("| fresh process per job, %lld ms apart, sandboxed (the default) | %.0f µs | %.0f× |\n",
              static_cast<long long>(kPause.count()), forked_sandboxed_paused,
              forked_sandboxed_paused / direct);
  std::printf("| new executor + first job, no sandbox | %.0f µs | |\n", spawn);
  std::printf("| new executor + first job, sandboxed | %.0f µs (+%.0f µs) | |\n",
              spawn_sandboxed, spawn_sandboxed - spawn);
  std::printf("| module template start (exec, sandbox, link), once per module | %.0f µs | |\n",
              template_start);
  return 0;
}
