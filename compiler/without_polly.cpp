// Polly's pass plugin, for a clang linked from Debian's archives (REXEC_STATIC_CLANG).
//
// Debian builds clang to link Polly into its tools, so clang's code generation registers Polly's
// passes through getPollyPluginInfo(); Debian ships that function only inside libLLVM, not as an
// archive. rexec never asks for Polly (it would take -mllvm -polly), so the plugin adds nothing,
// and an -mllvm -polly* flag is refused as unknown.
#include <llvm/Passes/PassPlugin.h>

llvm::PassPluginLibraryInfo getPollyPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "Polly", LLVM_VERSION_STRING, [](llvm::PassBuilder&) {}};
}
