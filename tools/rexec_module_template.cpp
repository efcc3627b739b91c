// rexec-module-template: holds one linked module and starts its jobs. Started by rexec-worker
// (runtime/jit/module_template.h), never by hand; see runtime/exec/template_server.h.
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/frame_io.h"
#include "runtime/exec/template_server.h"
#include "runtime/jit/template_protocol.h"
#include "runtime/sandbox/template_sandbox.h"

namespace {

constexpr int kChannel = STDIN_FILENO;

int Usage(bool asked) {
  std::fprintf(asked ? stdout : stderr,
               "usage: rexec-module-template --module=HASH [--sandbox-namespaces=USER_FD,NET_FD\n"
               "         --scratch-bytes=N --max-processes=N --max-open-files=N --max-file-bytes=N]\n"
               "The rexec worker's per-module process: it speaks a binary protocol on stdin and\n"
               "is started by rexec-worker, not by hand.\n");
  return asked ? 0 : 2;
}

int Refuse(const std::string& why) {
  rexec::WriteFrame(kChannel, rexec::template_protocol::FrameKind::kError, why, std::nullopt)
      .IgnoreError();
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  rexec::TemplateServerOptions options;
  std::optional<rexec::ContentHash> module;
  int user_namespace = -1;
  int network_namespace = -1;
  rexec::SandboxOptions sandbox_options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help") return Usage(true);
    size_t equals = arg.find('=');
    if (equals == std::string_view::npos) return Usage(false);
    std::string_view name = arg.substr(0, equals);
    std::string value(arg.substr(equals + 1));
    bool valid = true;
    if (name == "--module") {
      module = rexec::ContentHash::FromHex(value);
      valid = module.has_value();
    } else if (name == "--sandbox-namespaces") {
      size_t comma = value.find(',');
      valid = comma != std::string::npos &&
              absl::SimpleAtoi(value.substr(0, comma), &user_namespace) &&
              absl::SimpleAtoi(value.substr(comma + 1), &network_namespace);
    } else if (name == "--scratch-bytes") {
      valid = absl::SimpleAtoi(value, &sandbox_options.scratch_bytes);
    } else if (name == "--max-processes") {
      valid = absl::SimpleAtoi(value, &sandbox_options.max_processes);
    } else if (name == "--max-open-files") {
      valid = absl::SimpleAtoi(value, &sandbox_options.max_open_files);
    } else if (name == "--max-file-bytes") {
      valid = absl::SimpleAtoi(value, &sandbox_options.max_file_bytes);
    } else {
      valid = false;
    }
    if (!valid) return Usage(false);
  }
  if (!module) return Usage(false);
  options.module = *module;

  std::optional<rexec::TemplateSandbox> sandbox;
  if (user_namespace >= 0) {
    absl::StatusOr<rexec::TemplateSandbox> entered =
        rexec::TemplateSandbox::Enter(user_namespace, network_namespace, sandbox_options);
    if (!entered.ok()) return Refuse(absl::StrCat("sandbox: ", entered.status().message()));
    sandbox = *std::move(entered);
    close(user_namespace);
    close(network_namespace);
    options.sandbox = &*sandbox;
  }
  return rexec::ServeTemplate(kChannel, options);
}
