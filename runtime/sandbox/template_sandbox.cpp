#include "runtime/sandbox/template_sandbox.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "absl/strings/str_cat.h"
#include "runtime/sandbox/job_filesystem.h"
#include "runtime/sandbox/sandbox_entry.h"

namespace rexec {

absl::StatusOr<TemplateSandbox> TemplateSandbox::Enter(int user_namespace, int network_namespace,
                                                       const SandboxOptions& options) {
  absl::StatusOr<SyscallFilter> filter = SyscallFilter::Build();
  if (!filter.ok()) return filter.status();
  sandbox_entry::JoinSharedNamespaces(user_namespace, network_namespace);
  sandbox_entry::TakeJobIds();
  if (unshare(CLONE_NEWNS) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot create a mount namespace: ",
                                               strerror(errno)));
  }
  if (const char* failed = BuildSystemView()) {
    return absl::UnavailableError(absl::StrCat("cannot ", failed, ": ", strerror(errno)));
  }
  return TemplateSandbox(options, *std::move(filter));
}

pid_t TemplateSandbox::ForkJobInit() { return sandbox_entry::ForkJobInit(); }

void TemplateSandbox::PrepareJobInit(int template_pidfd) const {
  sandbox_entry::PrepareJobInit(options_, template_pidfd);
}

void TemplateSandbox::HardenJob() const { sandbox_entry::HardenJob(options_, filter_); }

}  // namespace rexec
