#include "core/exit_report.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
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
  // Nothing of the program runs after its report: no signal handler either.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  sigval value{};
  value.sival_int = code;
  if (sigqueue(report_to, ReportSignal(), value) != 0) return;
  // The parent ends this process once it has passed the report on. Exiting now instead would
  // tear the process down first, on the CPU the parent was just woken on: ~0.2-0.3 ms here
  // before the report goes anywhere. Bounded, should the parent not act on it.
  timespec left{1, 0};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &left, &left) == EINTR) {
  }
}

bool PassOnStatus(int status_fd, int wait_status) {
  if (write(status_fd, &wait_status, sizeof wait_status) != sizeof wait_status) return false;
  pollfd taken{status_fd, 0, 0};  // a pipe's write end polls as POLLERR once no reader is left
  while (poll(&taken, 1, 1000) < 0 && errno == EINTR) {
  }
  return true;
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
