#include "runtime/jit/static_initializers.h"

#include <llvm/ExecutionEngine/JITLink/JITLink.h>

#include <algorithm>
#include <optional>
#include <tuple>

namespace rexec {
namespace {

using llvm::jitlink::Block;
using llvm::jitlink::LinkGraph;
using llvm::jitlink::Section;

// A static link runs `.init_array.N` before `.init_array`, lower N first (the same for
// .fini_array); nullopt for a section of neither kind. `kind` is ".init_array" or ".fini_array".
std::optional<unsigned> Priority(llvm::StringRef section, llvm::StringRef kind) {
  if (!section.consume_front(kind)) return std::nullopt;
  if (section.empty()) return 65536;
  unsigned priority = 0;
  if (!section.consume_front(".") || section.getAsInteger(10, priority)) return std::nullopt;
  return priority;
}

// The functions a graph's `kind` sections list, in the order to run them.
std::vector<StaticInitializerCollector::Function> Listed(LinkGraph& graph, llvm::StringRef kind) {
  std::vector<std::tuple<unsigned, uint64_t, StaticInitializerCollector::Function>> entries;
  for (Section& section : graph.sections()) {
    std::optional<unsigned> priority = Priority(section.getName(), kind);
    if (!priority) continue;
    for (Block* block : section.blocks()) {
      for (const llvm::jitlink::Edge& edge : block->edges()) {
        const llvm::orc::ExecutorAddr target = edge.getTarget().getAddress() + edge.getAddend();
        entries.emplace_back(*priority, (block->getAddress() + edge.getOffset()).getValue(),
                             target.toPtr<StaticInitializerCollector::Function>());
      }
    }
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<StaticInitializerCollector::Function> functions;
  for (const auto& entry : entries) functions.push_back(std::get<2>(entry));
  return functions;
}

// Nothing refers to an .init_array: without a live symbol, dead-stripping would drop it.
llvm::Error KeepAlive(LinkGraph& graph) {
  for (Section& section : graph.sections()) {
    const llvm::StringRef name = section.getName();
    if (!Priority(name, ".init_array") && !Priority(name, ".fini_array")) continue;
    for (Block* block : section.blocks()) {
      graph.addAnonymousSymbol(*block, 0, 0, /*IsCallable=*/false, /*IsLive=*/true);
    }
  }
  return llvm::Error::success();
}

// C++ static destructors register with __cxa_atexit(..., &__dso_handle), a hidden symbol a
// native link gets from crtbegin.o. Each module defines its own (module_preparation.h); a shipped
// object gets a byte of its own too, near its code for its PC-relative reference.
llvm::Error DefineDsoHandle(LinkGraph& graph) {
  for (llvm::jitlink::Symbol* symbol : graph.external_symbols()) {
    if (symbol->getName() != "__dso_handle") continue;
    Section& section = graph.createSection("__rexec_dso_handle", llvm::orc::MemProt::Read);
    Block& byte = graph.createZeroFillBlock(section, 1, llvm::orc::ExecutorAddr(), 1, 0);
    graph.makeDefined(*symbol, byte, 0, 1, llvm::jitlink::Linkage::Strong,
                      llvm::jitlink::Scope::Local, /*IsLive=*/true);
    break;  // makeDefined changed the set being walked
  }
  return llvm::Error::success();
}

}  // namespace

void StaticInitializerCollector::modifyPassConfig(
    llvm::orc::MaterializationResponsibility& responsibility, LinkGraph& graph,
    llvm::jitlink::PassConfiguration& config) {
  config.PrePrunePasses.push_back(KeepAlive);
  config.PrePrunePasses.push_back(DefineDsoHandle);
  const llvm::orc::JITDylib* dylib = &responsibility.getTargetJITDylib();
  // After fixups every target's address is final, external ones included.
  config.PostFixupPasses.push_back([this, dylib](LinkGraph& linked) {
    std::vector<Function> initializers = Listed(linked, ".init_array");
    std::vector<Function> finalizers = Listed(linked, ".fini_array");
    std::lock_guard lock(mutex_);
    Found& found = found_[dylib];
    found.initializers.insert(found.initializers.end(), initializers.begin(), initializers.end());
    found.finalizers.insert(found.finalizers.end(), finalizers.begin(), finalizers.end());
    return llvm::Error::success();
  });
}

StaticInitializerCollector::Found StaticInitializerCollector::Take(
    const llvm::orc::JITDylib& dylib) {
  std::lock_guard lock(mutex_);
  auto it = found_.find(&dylib);
  if (it == found_.end()) return {};
  Found found = std::move(it->second);
  found_.erase(it);
  return found;
}

}  // namespace rexec
