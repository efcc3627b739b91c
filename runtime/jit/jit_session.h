// The worker's JIT: links compiled objects into this process, one JITDylib per module.
//
// Only the worker links; user code never runs here. A LinkedModule holds plain addresses of the
// module's entry points, resolved once at link time, so a forked child only calls pointers and
// never touches ORC (whose locks and threads do not survive a fork).
//
// Symbols a module may use: its own, the interposed symbols given to Create() (the exit functions
// of exec/child_runtime.h), the C and C++ runtime libraries (libc, libm, libstdc++, libgcc_s) —
// what `clang++ main.cpp` links by default — and the libraries it is linked with: shipped
// archives (members loaded on demand, like ld's) and objects, and system shared libraries
// (dlopen'ed into this process, visible to this module's JITDylib only). Nothing else of the
// process (LLVM, kj, ...) is visible to user code.
//
// Static initializers: the module's own are lowered into init() (module_preparation.h); those
// of shipped objects and archive members (.init_array, .fini_array) are collected at link time
// (static_initializers.h) and run first, as a shared library's would be.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rexec/content_hash.h"
#include "runtime/jit/link_request.h"

namespace llvm::orc {
class LLJIT;
class JITDylib;
}  // namespace llvm::orc

namespace rexec {

class JitSession;
class StaticInitializerCollector;

// A symbol every linked module binds to in place of the C library's.
struct InterposedSymbol {
  const char* name;
  void* address;
};

class LinkedModule {
 public:
  ~LinkedModule();  // unlinks the module from the session
  LinkedModule(const LinkedModule&) = delete;
  LinkedModule& operator=(const LinkedModule&) = delete;

  const ContentHash& hash() const { return hash_; }
  size_t object_bytes() const { return object_bytes_; }

  using VoidFunction = void (*)();
  using MainFunction = int (*)(int, char**, char**);

  // Runs every static initializer: the shipped libraries', in link order, then init().
  void RunInitializers() const;
  // The exit handlers to register, in this order (so they run in reverse): the shipped
  // libraries' finalizers, then fini() if there is one.
  std::vector<VoidFunction> finalizers() const;
  VoidFunction init() const { return init_; }
  VoidFunction fini() const { return fini_; }  // may be null
  MainFunction main() const { return main_; }  // null when the module has no main()
  // The entry of REXEC_COMMAND(name), or null.
  void* command(const std::string& name) const;
  std::vector<std::string> command_names() const;

 private:
  friend class JitSession;
class StaticInitializerCollector;
  LinkedModule() = default;

  ContentHash hash_;
  size_t object_bytes_ = 0;
  VoidFunction init_ = nullptr;
  VoidFunction fini_ = nullptr;
  std::vector<VoidFunction> library_initializers_;
  std::vector<VoidFunction> library_finalizers_;
  MainFunction main_ = nullptr;
  std::map<std::string, void*> commands_;
  std::shared_ptr<JitSession> session_;  // unlinking needs it, whoever is destroyed last
  llvm::orc::JITDylib* dylib_ = nullptr;
};

class JitSession : public std::enable_shared_from_this<JitSession> {
 public:
  // `interposed` (names and addresses, which must outlive the session) take precedence over the
  // runtime libraries in every module.
  static absl::StatusOr<std::shared_ptr<JitSession>> Create(
      std::span<const InterposedSymbol> interposed);
  ~JitSession();

  // Links `object` (from ObjectCompiler) with `libraries` (searched in order after the runtime
  // libraries) and resolves its entry points. A failure names the cause the way a linker would,
  // e.g. "undefined symbol: foo(int)", or says which library cannot be used and why
  // (library_check.h). Each LinkedModule keeps the session alive.
  absl::StatusOr<std::shared_ptr<LinkedModule>> Link(const ContentHash& hash, std::string object,
                                                     std::vector<LibraryInput> libraries = {});

 private:
  friend class LinkedModule;
  JitSession() = default;
  void Unlink(llvm::orc::JITDylib& dylib);
  absl::Status AddLibrary(llvm::orc::JITDylib& dylib, LibraryInput library);
  std::vector<std::string> TakeReportedErrors();

  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::span<const InterposedSymbol> interposed_;
  std::shared_ptr<StaticInitializerCollector> static_initializers_;
  std::mutex mutex_;  // serializes Link/Unlink and guards reported_errors_
  std::vector<std::string> reported_errors_;
  uint64_t next_dylib_ = 0;
};

}  // namespace rexec
