// From a module hash (and the libraries it links) to linked, runnable code, doing each
// expensive step at most once.
//
//   module templates (LRU)  ->  object cache (BlobStore)  ->  code generation
//   keyed by LinkRequest::Key()                      bitcode from the module store
//                                                    (shipped libraries live there too)
//
// Neither step runs in the worker: bitcode is untrusted and LLVM may crash or abort on it, so
// code generation runs in the compile server (compile_process.h) and linking in the module's
// template process (module_template.h), where its jobs start. Both are driven from a background
// thread. Concurrent requests for the same module share one build. A template is shared with the
// jobs that use it, so evicting it from the cache never ends a running job.
#pragma once

#include <kj/async.h>

#include <list>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/event_loop_thread.h"
#include "runtime/store/blob_store.h"
#include "runtime/jit/compile_process.h"
#include "runtime/jit/link_request.h"
#include "runtime/jit/module_template.h"
#include "runtime/jit/target_description.h"

namespace rexec {

struct CodeCacheStats {
  uint64_t linked_modules = 0;
  uint64_t object_hits = 0;
  uint64_t object_misses = 0;
  uint64_t compile_us = 0;
  uint64_t link_us = 0;
};

struct LoadedCode {
  absl::StatusOr<std::shared_ptr<const ModuleTemplate>> module;
  uint64_t compile_us = 0;
  uint64_t link_us = 0;
  bool compile_cached = false;  // object came from the cache
  bool link_cached = false;     // module was already linked
};

class CodeCache {
 public:
  // `sandbox` (may be null) holds the compile server and the module templates. `targets` (may
  // be null: a server then starts with every cache) remembers the compile server's target
  // description between starts (remembered_target.h).
  CodeCache(BlobStore& modules, BlobStore& objects, size_t max_linked_modules,
            const Sandbox* sandbox = nullptr, BlobStore* targets = nullptr);
  ~CodeCache() noexcept(false);

  const TargetDescription& target() const { return target_; }

  // NotFound when the module store lacks the bitcode or a shipped library; InvalidArgument when
  // it cannot be compiled (LLVM's message, or how the compile server died); DeadlineExceeded
  // when compiling took too long; FailedPrecondition when it cannot be linked (a library it
  // cannot use included). Call on the owning event loop.
  kj::Promise<LoadedCode> Load(LinkRequest request);

  CodeCacheStats stats() const { return stats_; }

 private:
  struct Linked {
    std::shared_ptr<const ModuleTemplate> module;
    std::list<ContentHash>::iterator lru_position;
  };
  LoadedCode BuildOnBackgroundThread(const LinkRequest& request);
  // The compile server's target: remembered in `targets_`, else from a server started now (and
  // then remembered).
  TargetDescription DescribeTarget();
  // Makes `target` the one a worker started later assumes (when there is a target store).
  void RememberTarget(const TargetDescription& target);
  bool HoldsAll(const LinkRequest& request);
  void Remember(const ContentHash& hash, std::shared_ptr<const ModuleTemplate> module);

  BlobStore& modules_;
  BlobStore& objects_;
  const size_t max_linked_modules_;
  std::unique_ptr<CompileProcess> compile_process_;  // used on the background thread only
  BlobStore* const targets_;
  const ContentHash remembered_target_key_;  // remembered_target.h
  // As the compile server described it when the cache was made (or an earlier server, as
  // remembered): the target clients compile for, and (its fingerprint) the object cache's key.
  const TargetDescription target_;
  ModuleTemplateOptions template_options_;
  EventLoopThread thread_;
  absl::flat_hash_map<ContentHash, Linked> linked_;
  std::list<ContentHash> lru_;
  struct InFlight {
    kj::ForkedPromise<LoadedCode> result;
    bool done = false;
  };
  absl::flat_hash_map<ContentHash, InFlight> in_flight_;
  CodeCacheStats stats_;
};

}  // namespace rexec
