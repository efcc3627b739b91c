#include "runtime/sandbox/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/sandbox/sandbox_entry.h"

namespace rexec {
namespace {

// The namespaces' descriptors are moved this high so that a child's dup2() onto 0-3 can never
// overwrite one before it is used.
constexpr int kFirstNamespaceFd = 64;
constexpr uid_t kNobody = 65534;

absl::Status WriteProcFile(pid_t pid, const char* name, const std::string& contents) {
  std::string path = absl::StrCat("/proc/", pid, "/", name);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, contents.data(), contents.size()) != ssize_t(contents.size())) {
    int error = errno;
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("write ", path, ": ", strerror(error)));
  }
  close(fd);
  return absl::OkStatus();
}

absl::StatusOr<int> OpenNamespace(pid_t pid, const char* kind) {
  std::string path = absl::StrCat("/proc/", pid, "/ns/", kind);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("open ", path, ": ", strerror(errno)));
  int high = fcntl(fd, F_DUPFD_CLOEXEC, kFirstNamespaceFd);
  close(fd);
  if (high < 0) return absl::UnavailableError(absl::StrCat("fcntl: ", strerror(errno)));
  return high;
}

// A short-lived process that creates the user and network namespaces every job will join; their
// descriptors keep them alive after it exits.
absl::Status CreateSharedNamespaces(uid_t host_uid, gid_t host_gid, int& user_namespace,
                                    int& network_namespace) {
  int ready[2], release[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return absl::UnavailableError("pipe");
  if (pipe2(release, O_CLOEXEC) != 0) {
    close(ready[0]);
    close(ready[1]);
    return absl::UnavailableError("pipe");
  }
  const pid_t holder = fork();
  if (holder == 0) {
    close(ready[0]);
    close(release[1]);  // or its read would never see the end
    int error = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 0 : errno;
    if (write(ready[1], &error, sizeof error) != sizeof error || error != 0) _exit(1);
    char byte;
    while (read(release[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  absl::Status status;
  int error = 0;
  if (holder < 0) {
    status = absl::UnavailableError(absl::StrCat("fork: ", strerror(errno)));
  } else if (read(ready[0], &error, sizeof error) != sizeof error || error != 0) {
    status = absl::UnavailableError(
        absl::StrCat("cannot create a user namespace: ", strerror(error ? error : EPIPE)));
  } else {
    // A privileged worker may map any id; an unprivileged one only its own, and must give up
    // setgroups() for it.
    if (geteuid() != 0) status = WriteProcFile(holder, "setgroups", "deny");
    if (status.ok()) {
      status = WriteProcFile(holder, "uid_map", absl::StrCat(kJobUid, " ", host_uid, " 1\n"));
    }
    if (status.ok()) {
      status = WriteProcFile(holder, "gid_map", absl::StrCat(kJobGid, " ", host_gid, " 1\n"));
    }
    if (status.ok()) {
      absl::StatusOr<int> user = OpenNamespace(holder, "user");
      absl::StatusOr<int> network = OpenNamespace(holder, "net");
      if (user.ok() && network.ok()) {
        user_namespace = *user;
        network_namespace = *network;
      } else {
        status = user.ok() ? network.status() : user.status();
        if (user.ok()) close(*user);
        if (network.ok()) close(*network);
      }
    }
  }
  close(ready[0]);
  close(release[1]);
  if (holder > 0) waitpid(holder, nullptr, 0);
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxOptions& options) {
  absl::StatusOr<SyscallFilter> filter = SyscallFilter::Build();
  if (!filter.ok()) return filter.status();
  std::unique_ptr<Sandbox> sandbox(new Sandbox);
  sandbox->options_ = options;
  sandbox->filter_ = *std::move(filter);
  const bool root = geteuid() == 0;
  sandbox->host_uid_ = root ? kNobody : geteuid();
  sandbox->host_gid_ = root ? kNobody : getegid();
  if (absl::Status created = CreateSharedNamespaces(
          sandbox->host_uid_, sandbox->host_gid_, sandbox->user_namespace_,
          sandbox->network_namespace_);
      !created.ok()) {
    return created;
  }

  // Prove it: an empty job, whose failure message comes back on a pipe.
  int messages[2];
  if (pipe2(messages, O_CLOEXEC) != 0) return absl::UnavailableError("pipe");
  const pid_t probe = fork();
  if (probe == 0) {
    dup2(messages[1], 2);
    sandbox->EnterInChild();
    _exit(0);
  }
  close(messages[1]);
  std::string message(512, '\0');
  ssize_t got = read(messages[0], message.data(), message.size());
  message.resize(got > 0 ? static_cast<size_t>(got) : 0);
  close(messages[0]);
  int status = 0;
  if (probe < 0 || waitpid(probe, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return absl::UnavailableError(message.empty() ? "a test job could not enter the sandbox"
                                                  : message);
  }
  return sandbox;
}

Sandbox::~Sandbox() {
  if (user_namespace_ >= 0) close(user_namespace_);
  if (network_namespace_ >= 0) close(network_namespace_);
}

void Sandbox::EnterInChild() const {
  sandbox_entry::JoinSharedNamespaces(user_namespace_, network_namespace_);
  sandbox_entry::StartJobTree(sandbox_entry::View::kBuildWhole, options_, filter_,
                              /*status_fd=*/-1);
}

}  // namespace rexec
