#include "core/host_port.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace rexec {

absl::StatusOr<HostPort> ParseHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address '", address, "' must be HOST:PORT"));
  }
  HostPort result{address.substr(0, colon), 0};
  if (!absl::SimpleAtoi(address.substr(colon + 1), &result.port) || result.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in address '", address, "'"));
  }
  if (result.host.size() >= 2 && result.host.front() == '[' && result.host.back() == ']') {
    result.host = result.host.substr(1, result.host.size() - 2);
  }
  if (result.host.empty()) result.host = "127.0.0.1";
  return result;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace rexec
