// HOST:PORT addresses as rexec's users write them: "127.0.0.1:7070", "[::1]:7070", ":7070".
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace rexec {

struct HostPort {
  std::string host;  // brackets of an IPv6 address removed; an empty host is 127.0.0.1
  uint32_t port = 0;
};

absl::StatusOr<HostPort> ParseHostPort(const std::string& address);

// 127.0.0.0/8, ::1 or localhost: reachable from this machine only.
bool IsLoopbackHost(const std::string& host);

}  // namespace rexec
