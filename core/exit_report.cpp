#include "core/exit_report.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace rexec {
namespace {

// The job's parent and the job's own pid, once ReportExitToParent ran: a forked job's own
// copies, never set in the template.
pid_t report_to = -1;
pid_t report_from = -1;

constexpr int kWaitFailed = 127 << 8;  // a wait status: exited with 127

// The report signal: the first real-time signal glibc leaves to programs (it is sent to the
// job's parent, never to the program, so the program's own use of it does not matter).
int ReportSignal() { return SIGRTMIN; }

sigset_t HeldSignals() {
  sigset_t held;
  sigemptyset(&held);
  sigaddset(&held, SIGCHLD);
  sigaddset(&held, ReportSignal());
  return held;
}

}  // namespace

void HoldExitReports() {
  const sigset_t held = HeldSignals();
  sigprocmask(SIG_BLOCK, &held, nullptr);
}

void ReleaseExitReports() {
  const sigset_t held = HeldSignals();
  sigprocmask(SIG_UNBLOCK, &held, nullptr);
}

void ReportExitToParent() {
  report_to = getppid();
  report_from = getpid();
}

void ReportExit(int code) {
  if (report_from < 0 || getpid() != report_from) return;
  sigval value{};
  value.sival_int = code;
  sigqueue(report_to, ReportSignal(), value);
}

JobEnd AwaitJobEnd(pid_t job) {
  HoldExitReports();
  const sigset_t held = HeldSignals();
  // Blocked, the signals stay pending until read here: nothing that ends is missed.
  const int signals = signalfd(-1, &held, SFD_CLOEXEC | SFD_NONBLOCK);
  JobEnd end{kWaitFailed, false};
  while (true) {
    int status = 0;
    pid_t ended;
    while ((ended = waitpid(-1, &status, signals >= 0 ? WNOHANG : 0)) > 0) {
      if (ended == job) {
        end = {status, false};
        break;
      }
    }
    if (ended == job) break;
    if (ended < 0 && errno != EINTR) break;  // ECHILD: the job was never ours
    if (signals < 0) continue;               // then waitpid() alone, blocking
    pollfd ready{signals, POLLIN, 0};
    if (poll(&ready, 1, -1) < 0 && errno != EINTR) break;  // EINTR: SIGTERM's handler ran
    signalfd_siginfo received[8];
    ssize_t got;
    bool reported = false;
    while ((got = read(signals, received, sizeof received)) > 0) {
      for (size_t i = 0; i < static_cast<size_t>(got) / sizeof received[0]; ++i) {
        const signalfd_siginfo& signal = received[i];
        if (static_cast<int>(signal.ssi_signo) == ReportSignal() && signal.ssi_code == SI_QUEUE &&
            static_cast<pid_t>(signal.ssi_pid) == job && !reported) {
          end = {W_EXITCODE(signal.ssi_int & 0xff, 0), true};
          reported = true;
        }
      }
    }
    if (reported) break;
  }
  if (signals >= 0) close(signals);
  return end;
}

}  // namespace rexec
