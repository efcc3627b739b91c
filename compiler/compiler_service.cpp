// rexec-compile's side of compiler_process.h; here rather than beside the client's side because
// it links clang, which the client must not.
#include <capnp/message.h>
#include <capnp/serialize.h>

#include "compiler/compiler_process.h"
#include "schema/compiler_process.capnp.h"

namespace rexec {
namespace {

// The request holds the user's sources' names and flags, or a module built ahead of time.
constexpr uint64_t kMaxRequestBytes = 2ull << 30;

void SetReply(wire::CompileReply::Builder reply, const absl::StatusOr<Module>& module,
              const std::string& diagnostics, const std::vector<std::string>& inputs) {
  reply.setDiagnostics(diagnostics);
  auto listed = reply.initInputs(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) listed.set(i, inputs[i]);
  if (!module.ok()) {
    auto error = reply.initError();
    error.setCode(static_cast<uint32_t>(module.status().code()));
    error.setMessage(std::string(module.status().message()));
    return;
  }
  auto compiled = reply.initModule();
  compiled.setBitcode(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(module->bitcode.data()),
                                   module->bitcode.size()));
  auto commands = compiled.initCommands(module->commands.size());
  for (size_t i = 0; i < module->commands.size(); ++i) {
    commands[i].setName(module->commands[i].name);
    commands[i].setDescriptor(module->commands[i].descriptor);
  }
  compiled.setHasMain(module->has_main);
}

std::vector<std::string> Strings(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> strings;
  for (capnp::Text::Reader text : list) strings.emplace_back(text.cStr());
  return strings;
}

}  // namespace

int ServeCompilerRequest(int in_fd, int out_fd) {
  capnp::ReaderOptions bounds;
  bounds.traversalLimitInWords = kMaxRequestBytes / sizeof(capnp::word);
  capnp::StreamFdMessageReader message(in_fd, bounds);
  wire::CompileRequest::Reader request = message.getRoot<wire::CompileRequest>();

  std::string diagnostics;
  std::vector<std::string> inputs;
  absl::StatusOr<Module> module = absl::InternalError("unknown request");
  if (request.isCompile()) {
    auto compile = request.getCompile();
    CompileOptions options{Strings(compile.getSources()), Strings(compile.getFlags()),
                           compile.getTargetTriple().cStr(), compile.getColorDiagnostics(),
                           compile.getPreambleCacheDir().cStr()};
    module = CompileToBitcode(options, diagnostics, &inputs);
  } else if (request.isInspect()) {
    capnp::Data::Reader bitcode = request.getInspect();
    module = InspectBitcode(std::string(reinterpret_cast<const char*>(bitcode.begin()),
                                        bitcode.size()));
  }
  capnp::MallocMessageBuilder reply;
  SetReply(reply.initRoot<wire::CompileReply>(), module, diagnostics, inputs);
  capnp::writeMessageToFd(out_fd, reply);
  return 0;
}

}  // namespace rexec
