#include "runtime/jit/compile_server.h"

#include <unistd.h>

#include <llvm/Support/ErrorHandling.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/frame_io.h"
#include "runtime/jit/compile_protocol.h"
#include "runtime/jit/object_compiler.h"

namespace rexec {
namespace {

using compile_protocol::FrameKind;

// Where a fatal error's message goes. Set once, before any input is read.
int reply_fd = -1;

// LLVM calls this instead of abort() for report_fatal_error and allocation failures: report
// the message as this compile's error, then end the process (LLVM's state is not trustworthy
// after a fatal error, so the server never serves on).
[[noreturn]] void ReportFatalErrorAndExit(void*, const char* reason, bool) {
  WriteFrame(reply_fd, FrameKind::kError, absl::StrCat("LLVM ERROR: ", reason),
                               std::nullopt)
      .IgnoreError();
  _exit(70);
}

}  // namespace

int ServeCompiles(int in_fd, int out_fd, const CompileServerOptions& options) {
  reply_fd = out_fd;
  llvm::install_fatal_error_handler(ReportFatalErrorAndExit);
  llvm::install_bad_alloc_error_handler(ReportFatalErrorAndExit);

  absl::StatusOr<std::unique_ptr<ObjectCompiler>> compiler =
      ObjectCompiler::ForHost(options.register_asm_parser);
  if (!compiler.ok()) {
    WriteFrame(out_fd, FrameKind::kError, std::string(compiler.status().message()),
                                 std::nullopt)
        .IgnoreError();
    return 1;
  }
  if (!WriteFrame(out_fd, FrameKind::kReady, (*compiler)->target().Encode(), std::nullopt).ok()) {
    return 1;
  }
  while (true) {
    absl::StatusOr<Frame> request =
        ReadFrame(in_fd, options.max_bitcode_bytes, std::nullopt);
    if (!request.ok()) {
      // The worker closed the pipe (it is done with this server), or broke the protocol.
      return absl::IsOutOfRange(request.status()) ? 0 : 1;
    }
    if (request->kind != FrameKind::kBitcode) return 1;
    absl::StatusOr<std::string> object = (*compiler)->Compile(request->payload);
    absl::Status replied =
        object.ok() ? WriteFrame(out_fd, FrameKind::kObject, *object,
                                                   std::nullopt)
                    : WriteFrame(out_fd, FrameKind::kError,
                                                   std::string(object.status().message()), std::nullopt);
    if (!replied.ok()) return 1;
  }
}

}  // namespace rexec
