#include "runtime/child_runtime.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <vector>

extern "C" void __call_tls_dtors();  // glibc: runs the calling thread's thread_local destructors

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

const std::array<InterposedSymbol, 3> kSymbols = {{
    {"__cxa_atexit", reinterpret_cast<void*>(&rexec_cxa_atexit)},
    {"atexit", reinterpret_cast<void*>(&rexec_atexit)},
    {"exit", reinterpret_cast<void*>(&rexec_exit)},
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
  _exit(code);
}

}  // namespace rexec
