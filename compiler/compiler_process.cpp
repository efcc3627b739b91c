#include "compiler/compiler_process.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "core/helper_binary.h"
#include "core/helper_process.h"
#include "schema/compiler_process.capnp.h"

namespace rexec {
namespace {

// The largest reply read: a module of this size is far past what any worker accepts.
constexpr uint64_t kMaxReplyBytes = 2ull << 30;

Module ModuleOf(wire::CompiledModule::Reader compiled) {
  Module module;
  module.bitcode.assign(reinterpret_cast<const char*>(compiled.getBitcode().begin()),
                        compiled.getBitcode().size());
  module.hash = ContentHash::Of(module.bitcode);
  for (wire::CompiledCommand::Reader command : compiled.getCommands()) {
    module.commands.push_back({command.getName().cStr(), command.getDescriptor().cStr()});
  }
  module.has_main = compiled.getHasMain();
  return module;
}

// Starts rexec-compile, sends it `request` and reads its reply.
absl::StatusOr<Module> Ask(capnp::MessageBuilder& request, std::string& diagnostics,
                           std::vector<std::string>* inputs) {
  absl::StatusOr<std::string> path = FindHelperBinary("rexec-compile");
  if (!path.ok()) return absl::UnavailableError(path.status().message());
  HelperProcessSpec spec;
  spec.path = *path;
  spec.descriptors = {HelperProcessSpec::kChannel, HelperProcessSpec::kChannel, STDERR_FILENO};
  spec.keep_environment = true;
  absl::StatusOr<HelperProcess> compiler = StartHelperProcess(spec);
  if (!compiler.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the compiler ", *path, " did not start: ", compiler.status().message()));
  }
  const int channel = compiler->channel;
  std::optional<absl::StatusOr<Module>> answer;
  try {
    capnp::writeMessageToFd(channel, request);
    capnp::ReaderOptions bounds;
    bounds.traversalLimitInWords = kMaxReplyBytes / sizeof(capnp::word);
    capnp::StreamFdMessageReader message(channel, bounds);
    wire::CompileReply::Reader reply = message.getRoot<wire::CompileReply>();
    diagnostics += reply.getDiagnostics().cStr();
    if (inputs != nullptr) {
      for (capnp::Text::Reader input : reply.getInputs()) inputs->emplace_back(input.cStr());
    }
    if (reply.isModule()) {
      answer = ModuleOf(reply.getModule());
    } else {
      wire::CompileError::Reader error = reply.getError();
      answer = absl::Status(static_cast<absl::StatusCode>(error.getCode()),
                            std::string(error.getMessage().cStr()));
    }
  } catch (const kj::Exception&) {
    // The compiler died before answering: how it ended is the message.
  }
  close(channel);
  if (answer.has_value()) {
    // Only its exit is left, and the kernel takes 3-5 ms to free a compiler that has parsed a
    // translation unit (`perf trace`: its exit_group to our wait4): not on the run's path.
    ReapHelperInBackground(compiler->pid);
    return *std::move(answer);
  }
  const int status = AwaitHelperExit(compiler->pid);
  return absl::InternalError(
      absl::StrCat("the compiler ", *path, " ", DescribeHelperExit(status), " without an answer"));
}

}  // namespace

absl::StatusOr<Module> CompileInCompilerProcess(const CompileOptions& options,
                                                std::string& diagnostics,
                                                std::vector<std::string>* inputs) {
  capnp::MallocMessageBuilder message;
  auto compile = message.initRoot<wire::CompileRequest>().initCompile();
  auto sources = compile.initSources(options.sources.size());
  for (size_t i = 0; i < options.sources.size(); ++i) sources.set(i, options.sources[i]);
  auto flags = compile.initFlags(options.flags.size());
  for (size_t i = 0; i < options.flags.size(); ++i) flags.set(i, options.flags[i]);
  compile.setTargetTriple(options.target_triple);
  compile.setColorDiagnostics(options.color_diagnostics);
  compile.setPreambleCacheDir(options.preamble_cache_dir);
  return Ask(message, diagnostics, inputs);
}

absl::StatusOr<Module> InspectInCompilerProcess(std::string bitcode) {
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::CompileRequest>().setInspect(
      kj::arrayPtr(reinterpret_cast<const capnp::byte*>(bitcode.data()), bitcode.size()));
  std::string diagnostics;
  return Ask(message, diagnostics, nullptr);
}

}  // namespace rexec
