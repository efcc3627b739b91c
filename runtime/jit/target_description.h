// What the worker generates code for: the target clients must compile their bitcode for, and the
// fingerprint that keys the object cache.
//
// Only code generation knows it (LLVM's view of the host CPU), and code generation runs in the
// compile server, so the worker learns it from the server's first frame (compile_protocol.h)
// instead of loading LLVM itself. Everything that determines the machine code is in the
// fingerprint: an object built under another fingerprint (another CPU, another LLVM, an older
// module preparation) is never used.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rexec {

struct TargetDescription {
  std::string triple;
  std::string data_layout;
  std::string cpu;
  std::string features;
  std::string codegen_fingerprint;

  bool operator==(const TargetDescription&) const = default;

  // The fields, each ended by a NUL (none of them holds one).
  std::string Encode() const;
  static absl::StatusOr<TargetDescription> Decode(std::string_view bytes);
};

}  // namespace rexec
