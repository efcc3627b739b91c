// rexec-compile: the client's compiler process. Started by the rexec client on a bitcode-cache
// miss (compiler/compiler_process.h), never by hand.
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "compiler/compiler_process.h"

int main(int argc, char** argv) {
  if (argc > 1) {
    std::fprintf(stderr,
                 "usage: rexec-compile\n"
                 "The rexec client's compiler: it speaks a binary protocol on stdin and stdout and\n"
                 "is started by rexec-send and the rexec client library, not by hand.\n");
    return std::string_view(argv[1]) == "--help" ? 0 : 2;
  }
  return rexec::ServeCompilerRequest(STDIN_FILENO, STDOUT_FILENO);
}
