#include "runtime/jit/jit_session.h"

#include <llvm/Demangle/Demangle.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>

#include <dlfcn.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/jit/library_check.h"
#include "runtime/jit/module_preparation.h"
#include "runtime/jit/static_initializers.h"

namespace rexec {
namespace {

using llvm::orc::ExecutorAddr;

// The libraries `clang++ main.cpp` links by default; all are already loaded in the worker.
constexpr const char* kRuntimeLibraries[] = {"libc.so.6", "libm.so.6", "libstdc++.so.6",
                                             "libgcc_s.so.1"};

bool IsRuntimeLibrarySymbol(const llvm::orc::SymbolStringPtr& symbol) {
  static const std::vector<void*> handles = [] {
    std::vector<void*> loaded;
    for (const char* library : kRuntimeLibraries) {
      if (void* handle = dlopen(library, RTLD_NOW | RTLD_NOLOAD)) loaded.push_back(handle);
    }
    return loaded;
  }();
  std::string name = (*symbol).str();
  for (void* handle : handles) {
    if (dlsym(handle, name.c_str()) != nullptr) return true;
  }
  return false;
}

// Turns ORC's errors into what a linker user expects to read.
std::string DescribeLinkError(llvm::Error error) {
  std::vector<std::string> messages;
  llvm::handleAllErrors(
      std::move(error),
      [&](const llvm::orc::SymbolsNotFound& missing) {
        for (const llvm::orc::SymbolStringPtr& symbol : missing.getSymbols()) {
          std::string name = (*symbol).str();
          std::string demangled = llvm::demangle(name);
          messages.push_back(demangled == name
                                 ? absl::StrCat("undefined symbol: ", name)
                                 : absl::StrCat("undefined symbol: ", demangled, " (", name, ")"));
        }
      },
      [&](const llvm::ErrorInfoBase& other) { messages.push_back(other.message()); });
  return absl::StrJoin(messages, "; ");
}

// The symbols the object defines that rexec calls: main, rexec.init/fini and the commands.
absl::StatusOr<std::vector<std::string>> EntrySymbols(const llvm::MemoryBuffer& object) {
  llvm::Expected<std::unique_ptr<llvm::object::ObjectFile>> file =
      llvm::object::ObjectFile::createObjectFile(object.getMemBufferRef());
  if (!file) return absl::InvalidArgumentError(llvm::toString(file.takeError()));
  std::vector<std::string> names;
  for (const llvm::object::SymbolRef& symbol : (*file)->symbols()) {
    llvm::Expected<uint32_t> flags = symbol.getFlags();
    llvm::Expected<llvm::StringRef> name = symbol.getName();
    if (!flags || !name) {
      llvm::consumeError(flags.takeError());
      llvm::consumeError(name.takeError());
      continue;
    }
    if ((*flags & llvm::object::SymbolRef::SF_Undefined) ||
        !(*flags & llvm::object::SymbolRef::SF_Global)) {
      continue;
    }
    if (*name == kMainSymbol || *name == kInitSymbol || *name == kFiniSymbol ||
        name->starts_with(kCommandSymbolPrefix)) {
      names.push_back(name->str());
    }
  }
  return names;
}

}  // namespace

LinkedModule::~LinkedModule() {
  if (session_ != nullptr && dylib_ != nullptr) session_->Unlink(*dylib_);
}

void LinkedModule::RunInitializers() const {
  for (VoidFunction initializer : library_initializers_) initializer();
  init_();
}

std::vector<LinkedModule::VoidFunction> LinkedModule::finalizers() const {
  std::vector<VoidFunction> all = library_finalizers_;
  if (fini_ != nullptr) all.push_back(fini_);
  return all;
}

void* LinkedModule::command(const std::string& name) const {
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : it->second;
}

std::vector<std::string> LinkedModule::command_names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : commands_) names.push_back(name);
  return names;
}

absl::StatusOr<std::shared_ptr<JitSession>> JitSession::Create(
    std::span<const InterposedSymbol> interposed) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::shared_ptr<JitSession> session(new JitSession);
  // The inactive platform: no ORC runtime, no platform-owned atexit list; see exec/child_runtime.h.
  auto jit = llvm::orc::LLJITBuilder()
                 .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                 // Modules link against the filtered generator below, never the whole process.
                 .setLinkProcessSymbolsByDefault(false)
                 .create();
  if (!jit) return absl::InternalError(llvm::toString(jit.takeError()));
  session->jit_ = std::move(*jit);
  session->interposed_ = interposed;
  auto* linking_layer =
      llvm::dyn_cast<llvm::orc::ObjectLinkingLayer>(&session->jit_->getObjLinkingLayer());
  if (linking_layer == nullptr) return absl::InternalError("the JIT does not link with JITLink");
  session->static_initializers_ = std::make_shared<StaticInitializerCollector>();
  linking_layer->addPlugin(session->static_initializers_);
  JitSession* raw = session.get();
  session->jit_->getExecutionSession().setErrorReporter([raw](llvm::Error error) {
    std::string message = DescribeLinkError(std::move(error));
    raw->reported_errors_.push_back(std::move(message));  // caller holds mutex_ (Link)
  });
  return session;
}

JitSession::~JitSession() = default;

std::vector<std::string> JitSession::TakeReportedErrors() {
  std::vector<std::string> errors;
  errors.swap(reported_errors_);
  return errors;
}

absl::Status JitSession::AddLibrary(llvm::orc::JITDylib& dylib, LibraryInput library) {
  if (library.kind == LinkedLibrary::Kind::kSystem) {
    auto generator = llvm::orc::DynamicLibrarySearchGenerator::Load(
        library.contents.c_str(), jit_->getDataLayout().getGlobalPrefix());
    if (!generator) {
      return absl::FailedPreconditionError(absl::StrCat("cannot load -l", library.name, " (",
                                                        library.contents, "): ",
                                                        llvm::toString(generator.takeError())));
    }
    dylib.addGenerator(std::move(*generator));
    return absl::OkStatus();
  }
  if (absl::Status usable = CheckShippedLibrary(library, jit_->getTargetTriple().str());
      !usable.ok()) {
    return usable;
  }
  std::unique_ptr<llvm::MemoryBuffer> bytes =
      llvm::MemoryBuffer::getMemBufferCopy(library.contents, library.name);
  if (library.kind == LinkedLibrary::Kind::kObject) {
    if (llvm::Error error = jit_->addObjectFile(dylib, std::move(bytes))) {
      return absl::FailedPreconditionError(
          absl::StrCat(library.name, ": ", DescribeLinkError(std::move(error))));
    }
    return absl::OkStatus();
  }
  auto generator = llvm::orc::StaticLibraryDefinitionGenerator::Create(
      jit_->getObjLinkingLayer(), std::move(bytes));
  if (!generator) {
    return absl::FailedPreconditionError(
        absl::StrCat(library.name, ": ", DescribeLinkError(generator.takeError())));
  }
  dylib.addGenerator(std::move(*generator));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<LinkedModule>> JitSession::Link(
    const ContentHash& hash, std::string object_bytes, std::vector<LibraryInput> libraries) {
  std::lock_guard lock(mutex_);
  llvm::orc::ExecutionSession& es = jit_->getExecutionSession();
  const size_t object_size = object_bytes.size();
  std::unique_ptr<llvm::MemoryBuffer> object = llvm::MemoryBuffer::getMemBufferCopy(
      object_bytes, absl::StrCat("module-", hash.short_hex()));
  absl::StatusOr<std::vector<std::string>> entries = EntrySymbols(*object);
  if (!entries.ok()) return entries.status();

  llvm::Expected<llvm::orc::JITDylib&> dylib =
      jit_->createJITDylib(absl::StrCat("module-", hash.short_hex(), "-", next_dylib_++));
  if (!dylib) return absl::InternalError(llvm::toString(dylib.takeError()));
  auto fail = [&](std::string message) -> absl::Status {
    static_initializers_->Take(*dylib);
    if (llvm::Error error = es.removeJITDylib(*dylib)) llvm::consumeError(std::move(error));
    return absl::FailedPreconditionError(std::move(message));
  };

  llvm::orc::SymbolMap interposed;
  for (const InterposedSymbol& symbol : interposed_) {
    interposed[es.intern(symbol.name)] = {ExecutorAddr::fromPtr(symbol.address),
                                          llvm::JITSymbolFlags::Exported |
                                              llvm::JITSymbolFlags::Callable};
  }
  if (llvm::Error error = dylib->define(llvm::orc::absoluteSymbols(std::move(interposed)))) {
    return fail(llvm::toString(std::move(error)));
  }
  // Resolve through the process's global scope, not each library's own: an executable that uses
  // std::cout holds the live copy of it (a copy relocation), and libstdc++'s own is stale. The
  // filter keeps the worker's other symbols out of reach.
  auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      jit_->getDataLayout().getGlobalPrefix(), &IsRuntimeLibrarySymbol);
  if (!generator) return fail(llvm::toString(generator.takeError()));
  dylib->addGenerator(std::move(*generator));
  for (LibraryInput& library : libraries) {
    if (absl::Status added = AddLibrary(*dylib, std::move(library)); !added.ok()) {
      return fail(std::string(added.message()));
    }
  }
  if (llvm::Error error = jit_->addObjectFile(*dylib, std::move(object))) {
    return fail(DescribeLinkError(std::move(error)));
  }

  llvm::orc::SymbolLookupSet lookup_set;
  for (const std::string& name : *entries) lookup_set.add(es.intern(name));
  llvm::Expected<llvm::orc::SymbolMap> resolved =
      es.lookup(llvm::orc::makeJITDylibSearchOrder(&*dylib), std::move(lookup_set));
  if (!resolved) {
    std::vector<std::string> reported = TakeReportedErrors();
    std::string reason = reported.empty() ? DescribeLinkError(resolved.takeError())
                                          : (llvm::consumeError(resolved.takeError()),
                                             absl::StrJoin(reported, "; "));
    return fail(reason);
  }
  // A library's object can fail after the module's symbols resolved against it (its own
  // fixups, or a symbol only it needs): the lookup succeeds, the code would not run.
  if (std::vector<std::string> reported = TakeReportedErrors(); !reported.empty()) {
    return fail(absl::StrJoin(reported, "; "));
  }
  if (!resolved->count(es.intern(kInitSymbol))) {
    return fail("module has no rexec.init: it was not prepared for execution");
  }

  std::shared_ptr<LinkedModule> linked(new LinkedModule);
  linked->hash_ = hash;
  linked->object_bytes_ = object_size;
  linked->session_ = shared_from_this();
  linked->dylib_ = &*dylib;
  StaticInitializerCollector::Found structors = static_initializers_->Take(*dylib);
  linked->library_initializers_ = std::move(structors.initializers);
  linked->library_finalizers_ = std::move(structors.finalizers);
  for (const auto& [symbol, definition] : *resolved) {
    llvm::StringRef name = *symbol;
    void* address = definition.getAddress().toPtr<void*>();
    if (name == kMainSymbol) {
      linked->main_ = reinterpret_cast<LinkedModule::MainFunction>(address);
    } else if (name == kInitSymbol) {
      linked->init_ = reinterpret_cast<LinkedModule::VoidFunction>(address);
    } else if (name == kFiniSymbol) {
      linked->fini_ = reinterpret_cast<LinkedModule::VoidFunction>(address);
    } else if (name.starts_with(kCommandSymbolPrefix)) {
      linked->commands_[name.drop_front(std::strlen(kCommandSymbolPrefix)).str()] = address;
    }
  }
  return linked;
}

void JitSession::Unlink(llvm::orc::JITDylib& dylib) {
  std::lock_guard lock(mutex_);
  if (llvm::Error error = jit_->getExecutionSession().removeJITDylib(dylib)) {
    llvm::consumeError(std::move(error));
  }
}

}  // namespace rexec
