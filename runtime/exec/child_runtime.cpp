#include "runtime/exec/child_runtime.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <vector>

#include "core/exit_report.h"

// glibc internals that its libc_nonshared.a wrappers (atexit, at_quick_exit, pthread_atfork) call;
// a JIT-linked program gets no libc_nonshared.a, so rexec provides those wrappers itself.
extern "C" void __call_tls_dtors();  // runs the calling thread's thread_local destructors
extern "C" int __cxa_at_quick_exit(void (*function)(void*), void* dso_handle);
extern "C" int __register_atfork(void (*prepare)(), void (*parent)(), void (*child)(),
                                 void* dso_handle);

namespace rexec {
namespace {

struct ExitHandler {
  void (*function)(void*);
  void* argument;
};

// Only ever touched in a child; the worker itself never registers handlers here.
std::mutex exit_mutex;
std::vector<ExitHandler>& ExitHandlers() {
  static auto* handlers = new std::vector<ExitHandler>();
  return *handlers;
}

extern "C" int rexec_cxa_atexit(void (*function)(void*), void* argument, void* /*dso_handle*/) {
  AtChildExit(function, argument);
  return 0;
}

extern "C" int rexec_atexit(void (*function)()) {
  AtChildExit(reinterpret_cast<void (*)(void*)>(function), nullptr);
  return 0;
}

extern "C" [[noreturn]] void rexec_exit(int code) { ExitChild(code); }

extern "C" int rexec_at_quick_exit(void (*function)()) {
  return __cxa_at_quick_exit(reinterpret_cast<void (*)(void*)>(function), nullptr);
}

extern "C" int rexec_pthread_atfork(void (*prepare)(), void (*parent)(), void (*child)()) {
  return __register_atfork(prepare, parent, child, nullptr);
}

const std::array<InterposedSymbol, 5> kSymbols = {{
    {"__cxa_atexit", reinterpret_cast<void*>(&rexec_cxa_atexit)},
    {"atexit", reinterpret_cast<void*>(&rexec_atexit)},
    {"exit", reinterpret_cast<void*>(&rexec_exit)},
    {"at_quick_exit", reinterpret_cast<void*>(&rexec_at_quick_exit)},
    {"pthread_atfork", reinterpret_cast<void*>(&rexec_pthread_atfork)},
}};

}  // namespace

std::span<const InterposedSymbol> ChildRuntimeSymbols() { return kSymbols; }

void AtChildExit(void (*handler)(void*), void* argument) {
  std::lock_guard lock(exit_mutex);
  ExitHandlers().push_back({handler, argument});
}

void FlushChildOutput() {
  std::cout.flush();
  std::cerr.flush();
  std::clog.flush();
  std::fflush(nullptr);
}

void ExitChild(int code) {
  __call_tls_dtors();  // glibc's exit() runs these first, then the atexit list
  for (;;) {
    ExitHandler handler;
    {
      std::lock_guard lock(exit_mutex);
      if (ExitHandlers().empty()) break;
      handler = ExitHandlers().back();
      ExitHandlers().pop_back();
    }
    handler.function(handler.argument);  // may register more handlers, as with libc
  }
  FlushChildOutput();
  ReportExit(code);
  _exit(code);
}

}  // namespace rexec
