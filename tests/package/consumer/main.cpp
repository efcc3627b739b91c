// Runs a command embedded at build time on a worker inside this program; prints 42.
#include <iostream>
#include "cmds.h"
#include "mine_bitcode.h"
#include "rexec/client.h"
int main() {
  auto module = rexec::Client::Load(std::string(rexec_bitcode_mine()));
  auto client = rexec::Client::Local();
  if (!module.ok() || !client.ok()) return 1;
  auto r = (*client)->Run(*module, Twice{21});
  std::cout << (r.ok() ? r->state.v : -1) << "\n";
}
