// The static initializers of shipped objects and archive members, for a child to run.
//
// A module's own constructors are lowered into rexec.init before code generation
// (module_preparation.h), but objects and archives arrive as machine code: their constructors
// are entries of .init_array (and .fini_array) sections, which the inactive ORC platform never
// runs. This JITLink plugin keeps those sections alive through dead-stripping and, once a graph
// is fixed up, records the functions they list, per JITDylib, in the order a static link runs
// them (by priority, then as they appear). JitSession hands them to its LinkedModule, and every
// job runs them before the module's own initializers. It also gives each such object the
// __dso_handle its destructors register with (a native link takes it from crtbegin.o).
#pragma once

#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>

#include <map>
#include <mutex>
#include <vector>

namespace rexec {

class StaticInitializerCollector final : public llvm::orc::ObjectLinkingLayer::Plugin {
 public:
  using Function = void (*)();
  struct Found {
    std::vector<Function> initializers;  // to call in this order
    std::vector<Function> finalizers;    // in .fini_array order (run last to first)
  };

  void modifyPassConfig(llvm::orc::MaterializationResponsibility& responsibility,
                        llvm::jitlink::LinkGraph& graph,
                        llvm::jitlink::PassConfiguration& config) override;
  llvm::Error notifyFailed(llvm::orc::MaterializationResponsibility&) override {
    return llvm::Error::success();
  }
  llvm::Error notifyRemovingResources(llvm::orc::JITDylib&, llvm::orc::ResourceKey) override {
    return llvm::Error::success();
  }
  void notifyTransferringResources(llvm::orc::JITDylib&, llvm::orc::ResourceKey,
                                   llvm::orc::ResourceKey) override {}

  // What the objects linked into `dylib` listed so far; forgets them.
  Found Take(const llvm::orc::JITDylib& dylib);

 private:
  std::mutex mutex_;
  std::map<const llvm::orc::JITDylib*, Found> found_;
};

}  // namespace rexec
