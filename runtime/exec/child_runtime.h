// The few C library entry points that JIT code in a child process resolves to rexec's versions.
//
// A child is a fork of the worker, so libc's atexit list already holds the worker's own handlers
// (LLVM's, kj's, ...). Running those in a child would be wrong and can deadlock, so a child never
// calls libc's exit(). Instead the program's `atexit`, `__cxa_atexit` and `exit` are bound to the
// functions here, which keep the program's handlers in a list of their own and end the process
// with exactly the effects a normal exit has on the program: thread_local destructors, exit
// handlers in reverse order (static destructors included), stdio and iostreams flushed.
// It also supplies at_quick_exit and pthread_atfork, which glibc ships only in the static
// libc_nonshared.a that a normal link adds and a JIT link does not.
#pragma once

#include <span>

#include "runtime/jit/jit_session.h"

namespace rexec {

// The symbols every linked module binds to instead of the C library's.
std::span<const InterposedSymbol> ChildRuntimeSymbols();

// Registers a handler to run at ExitChild (in reverse registration order).
void AtChildExit(void (*handler)(void*), void* argument);

// Ends the child as libc's exit() would end a normal program, with `code`.
[[noreturn]] void ExitChild(int code);

// Flushes stdio and the standard iostreams (also done by ExitChild).
void FlushChildOutput();

}  // namespace rexec
