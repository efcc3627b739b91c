// rexec-compile-server: the worker's helper that turns untrusted bitcode into machine code.
// Started by rexec-worker (runtime/jit/compile_process.h), never by hand; see compile_server.h.
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "runtime/jit/compile_server.h"

int main(int argc, char** argv) {
  rexec::CompileServerOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--without-asm-parser") {
      options.register_asm_parser = false;
    } else {
      std::fprintf(stderr,
                   "usage: rexec-compile-server [--without-asm-parser]\n"
                   "The rexec worker's compile helper: it speaks a binary protocol on stdin and\n"
                   "stdout and is started by rexec-worker, not by hand.\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  return rexec::ServeCompiles(STDIN_FILENO, STDOUT_FILENO, options);
}
