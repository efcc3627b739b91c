// Never ends, and ignores every signal it can: only SIGKILL stops it. (The volatile keeps the
// compiler from assuming the loop terminates.)
#include <csignal>
#include <initializer_list>

int main() {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGALRM, SIGXCPU}) {
    std::signal(signal, SIG_IGN);
  }
  volatile unsigned long spins = 0;
  for (;;) spins = spins + 1;
}
