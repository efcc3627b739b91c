#include "runtime/jit/code_cache.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/elapsed.h"
#include "core/helper_binary.h"
#include "runtime/jit/remembered_target.h"

namespace rexec {
namespace {

template <typename T>
T ValueOrDie(absl::StatusOr<T> value) {
  if (!value.ok()) {
    KJ_FAIL_REQUIRE("rexec worker cannot start its JIT", std::string(value.status().message()));
  }
  return std::move(*value);
}

CompileProcessOptions CompileServerOptions(const Sandbox* sandbox) {
  CompileProcessOptions options;
  options.sandbox = sandbox;
  options.server_path = ValueOrDie(FindHelperBinary("rexec-compile-server"));
  return options;
}

}  // namespace

CodeCache::CodeCache(BlobStore& modules, BlobStore& objects, size_t max_linked_modules,
                     const Sandbox* sandbox, BlobStore* targets)
    : modules_(modules),
      objects_(objects),
      max_linked_modules_(max_linked_modules),
      compile_process_(std::make_unique<CompileProcess>(CompileServerOptions(sandbox))),
      targets_(targets),
      remembered_target_key_(RememberedTargetKey(compile_process_->server_path())),
      target_(DescribeTarget()),
      template_options_{ValueOrDie(FindHelperBinary("rexec-module-template")), sandbox} {}

TargetDescription CodeCache::DescribeTarget() {
  std::shared_ptr<const std::string> remembered =
      targets_ != nullptr ? targets_->Get(remembered_target_key_) : nullptr;
  if (remembered != nullptr) {
    if (absl::StatusOr<TargetDescription> target = TargetDescription::Decode(*remembered);
        target.ok()) {
      compile_process_->Assume(*target);
      return *std::move(target);
    }
  }
  TargetDescription target = ValueOrDie(compile_process_->Describe());
  RememberTarget(target);
  return target;
}

void CodeCache::RememberTarget(const TargetDescription& target) {
  if (targets_ == nullptr) return;
  targets_->Replace(remembered_target_key_, std::make_shared<const std::string>(target.Encode()))
      .IgnoreError();  // only costs the next start a server
}

CodeCache::~CodeCache() noexcept(false) {
  in_flight_.clear();
  linked_.clear();
}

bool CodeCache::HoldsAll(const LinkRequest& request) {
  if (!modules_.Contains(request.module)) return false;
  for (const LinkedLibrary& library : request.libraries) {
    if (library.kind != LinkedLibrary::Kind::kSystem && !modules_.Contains(library.hash)) {
      return false;
    }
  }
  return true;
}

LoadedCode CodeCache::BuildOnBackgroundThread(const LinkRequest& request) {
  const ContentHash& hash = request.module;
  LoadedCode loaded;
  std::vector<LibraryInput> libraries;
  for (const LinkedLibrary& library : request.libraries) {
    LibraryInput& input = libraries.emplace_back(LibraryInput{library.kind, library.name, {}});
    if (library.kind == LinkedLibrary::Kind::kSystem) {
      input.contents = library.path;
      continue;
    }
    std::shared_ptr<const std::string> bytes = modules_.Get(library.hash);
    if (bytes == nullptr) {
      loaded.module = absl::NotFoundError(absl::StrCat("library ", library.name, " not held"));
      return loaded;
    }
    input.contents = *bytes;
  }
  ContentHash object_key = ContentHasher()
                               .Add(hash.bytes())
                               .Add(target_.codegen_fingerprint)
                               .Finish();
  std::shared_ptr<const std::string> object = objects_.Get(object_key);
  std::shared_ptr<const std::string> bitcode;
  if (object == nullptr) {
    bitcode = modules_.Get(hash);
    if (bitcode == nullptr) {
      loaded.module = absl::NotFoundError(absl::StrCat("module ", hash.short_hex(), " not held"));
      return loaded;
    }
  }
  // The template starts while the compile server makes the object, on the other CPU.
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<ModuleTemplate>> spawned =
      ModuleTemplate::Spawn(template_options_, hash);
  if (!spawned.ok()) {
    loaded.module = spawned.status();
    return loaded;
  }
  const uint64_t spawn_us = MicrosecondsSince(start);
  if (object != nullptr) {
    loaded.compile_cached = true;
  } else {
    start = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> compiled = compile_process_->Compile(*bitcode);
    loaded.compile_us = MicrosecondsSince(start);
    if (const std::optional<TargetDescription>& refused = compile_process_->refused_target()) {
      // The remembered target was wrong for this machine after all (the key missed what changed
      // it): the compile fails and says to restart, and the restarted worker must not remember
      // it again.
      RememberTarget(*refused);
    }
    if (!compiled.ok()) {
      loaded.module = compiled.status();
      return loaded;
    }
    object = std::make_shared<const std::string>(std::move(*compiled));
    // A failed disk write only costs a recompilation after a restart.
    objects_.Put(object_key, object).IgnoreError();
  }
  start = std::chrono::steady_clock::now();
  absl::Status linked = (*spawned)->Link(template_options_, *object, libraries);
  loaded.link_us = spawn_us + MicrosecondsSince(start);
  if (linked.ok()) {
    loaded.module = std::shared_ptr<const ModuleTemplate>(*std::move(spawned));
  } else {
    loaded.module = linked;
  }
  return loaded;
}

void CodeCache::Remember(const ContentHash& hash, std::shared_ptr<const ModuleTemplate> module) {
  lru_.push_front(hash);
  linked_[hash] = Linked{std::move(module), lru_.begin()};
  while (linked_.size() > max_linked_modules_) {
    linked_.erase(lru_.back());
    lru_.pop_back();
  }
  stats_.linked_modules = linked_.size();
}

kj::Promise<LoadedCode> CodeCache::Load(LinkRequest request) {
  const ContentHash key = request.Key();
  // Finished builds are dropped here, never inside their own continuation (which runs inside the
  // fork it would destroy). A failed one must not answer the next request either.
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.done) {
      in_flight_.erase(it++);
    } else {
      ++it;
    }
  }
  if (auto it = linked_.find(key); it != linked_.end() && !it->second.module->healthy()) {
    lru_.erase(it->second.lru_position);
    linked_.erase(it);  // its template ended: the next job starts a new one
    stats_.linked_modules = linked_.size();
  }
  if (auto it = linked_.find(key); it != linked_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru_position);
    LoadedCode loaded;
    loaded.module = it->second.module;
    loaded.compile_cached = loaded.link_cached = true;
    return loaded;
  }
  auto in_flight = in_flight_.find(key);
  if (in_flight == in_flight_.end()) {
    auto shared_request = std::make_shared<const LinkRequest>(request);
    kj::Promise<LoadedCode> build =
        thread_.executor()
            .executeAsync(
                [this, shared_request] { return BuildOnBackgroundThread(*shared_request); })
            .then([this, key](LoadedCode loaded) {
              in_flight_.find(key)->second.done = true;
              if (loaded.module.ok()) {
                Remember(key, *loaded.module);
                (loaded.compile_cached ? stats_.object_hits : stats_.object_misses)++;
                stats_.compile_us += loaded.compile_us;
                stats_.link_us += loaded.link_us;
              }
              return loaded;
            });
    in_flight = in_flight_.emplace(key, InFlight{build.fork()}).first;
  }
  return in_flight->second.result.addBranch().then(
      [this, request = std::move(request)](LoadedCode loaded) mutable -> kj::Promise<LoadedCode> {
        // A build that started before the module's upload finished reports it missing; the
        // upload may have landed meanwhile (many jobs racing one upload), so look again.
        if (loaded.module.status().code() == absl::StatusCode::kNotFound && HoldsAll(request)) {
          return kj::evalLater([this, request = std::move(request)]() mutable {
            return Load(std::move(request));
          });
        }
        return kj::mv(loaded);
      });
}

}  // namespace rexec
