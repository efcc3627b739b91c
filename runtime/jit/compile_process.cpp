#include "runtime/jit/compile_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/frame_io.h"
#include "core/helper_process.h"
#include "runtime/jit/compile_protocol.h"

namespace rexec {
namespace {

using compile_protocol::FrameKind;

constexpr auto kStartDeadline = std::chrono::seconds(30);
constexpr uint64_t kMaxMessageBytes = 64 << 10;
// Code generation of a large module needs a few GB at most; more is a hostile input.
constexpr uint64_t kServerAddressSpace = 8ull << 30;

void EnterSandbox(const void* sandbox) { static_cast<const Sandbox*>(sandbox)->EnterInChild(); }

}  // namespace

CompileProcess::CompileProcess(CompileProcessOptions options) : options_(std::move(options)) {}

CompileProcess::~CompileProcess() { Stop(); }

absl::Status CompileProcess::Start() {
  HelperProcessSpec spec;
  spec.path = options_.server_path;
  spec.args = options_.server_args;
  // stdin and stdout the channel, stderr nowhere
  spec.descriptors = {HelperProcessSpec::kChannel, HelperProcessSpec::kChannel,
                      HelperProcessSpec::kDevNull};
  spec.address_space_bytes = kServerAddressSpace;
  if (options_.sandbox != nullptr) {
    spec.in_child = &EnterSandbox;
    spec.context = options_.sandbox;
  }
  absl::StatusOr<HelperProcess> started = StartHelperProcess(spec);
  if (!started.ok()) {
    return absl::UnavailableError(absl::StrCat("the compile server ", options_.server_path,
                                               " did not start (", started.status().message(),
                                               ")"));
  }
  pid_ = started->pid;
  channel_ = started->channel;

  absl::StatusOr<Frame> ready = ReadFrame(
      channel_, kMaxMessageBytes, std::chrono::steady_clock::now() + kStartDeadline);
  if (!ready.ok() || ready->kind != FrameKind::kReady) {
    std::string said = ready.ok() ? ready->payload : std::string(ready.status().message());
    std::string ended = Stop();
    return absl::UnavailableError(absl::StrCat("the compile server ", options_.server_path,
                                               " did not start (", said, "; it ", ended, ")"));
  }
  absl::StatusOr<TargetDescription> target = TargetDescription::Decode(ready->payload);
  if (!target.ok()) {
    Stop();
    return absl::UnavailableError(absl::StrCat("the compile server ", options_.server_path, ": ",
                                               target.status().message()));
  }
  if (target_.has_value() && *target != *target_) {
    refused_ = *target;
    Stop();
    return absl::UnavailableError(absl::StrCat(
        "the compile server ", options_.server_path, " now generates code for '",
        target->codegen_fingerprint, "', before for '", target_->codegen_fingerprint,
        "': restart the worker after installing a new build"));
  }
  target_ = std::move(*target);
  return absl::OkStatus();
}

absl::StatusOr<TargetDescription> CompileProcess::Describe() {
  if (!target_.has_value()) {
    if (absl::Status started = Start(); !started.ok()) return started;
  }
  return *target_;
}

std::string CompileProcess::Stop() {
  if (pid_ < 0) return "was not running";
  close(channel_);
  channel_ = -1;
  // A server that reported a fatal error is exiting already; give it a moment to be reaped with
  // its own status before killing it.
  int status = 0;
  pid_t reaped = 0;
  for (int attempt = 0; attempt < 20 && reaped == 0; ++attempt) {
    reaped = waitpid(pid_, &status, WNOHANG);
    if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (reaped == 0) {
    kill(pid_, SIGKILL);
    status = AwaitHelperExit(pid_);
  }
  pid_ = -1;
  return DescribeHelperExit(status);
}

absl::StatusOr<std::string> CompileProcess::Compile(std::string_view bitcode) {
  if (pid_ < 0) {
    if (absl::Status started = Start(); !started.ok()) return started;
  }
  auto deadline = std::chrono::steady_clock::now() + options_.deadline;
  absl::Status sent =
      WriteFrame(channel_, FrameKind::kBitcode, bitcode, deadline);
  absl::StatusOr<Frame> reply =
      sent.ok() ? ReadFrame(channel_, options_.max_object_bytes, deadline)
                : absl::StatusOr<Frame>(sent);
  if (reply.ok() && reply->kind == FrameKind::kObject) return std::move(reply->payload);
  if (reply.ok() && reply->kind == FrameKind::kError) {
    // A fatal error ends the server after its report; a plain compile error does not.
    if (reply->payload.rfind("LLVM ERROR: ", 0) == 0) Stop();
    return absl::InvalidArgumentError(reply->payload);
  }
  // Anything else leaves the server in an unknown state: it goes, and this compile fails.
  std::string ended = Stop();
  if (absl::IsDeadlineExceeded(reply.status())) {
    return absl::DeadlineExceededError(absl::StrCat(
        "code generation took longer than ", options_.deadline.count() / 1000, " s; stopped"));
  }
  if (reply.ok()) {
    return absl::InternalError("the compile server broke its protocol; it was replaced");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("LLVM ", ended, " while reading or compiling this module's bitcode (",
                   reply.status().message(), ")"));
}

}  // namespace rexec
