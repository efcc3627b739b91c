#include "queue/redis_url.h"

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rexec {
namespace {

constexpr absl::string_view kScheme = "redis://";

// Percent-decoding, so a password may hold '@', ':' or '/'.
absl::StatusOr<std::string> Unescape(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int value = 0;
    if (i + 2 >= text.size() || !absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
      return absl::InvalidArgumentError("a '%' escape needs two hex digits");
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

}  // namespace

std::string RedisUrl::Redacted() const {
  std::string credentials;
  if (!user.empty() || !password.empty()) {
    credentials = absl::StrCat(user, password.empty() ? "" : ":***", "@");
  }
  std::string host_part = host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
  return absl::StrCat("redis://", credentials, host_part, ":", port,
                      database != 0 ? absl::StrCat("/", database) : "");
}

absl::StatusOr<RedisUrl> ParseRedisUrl(const std::string& url) {
  auto bad = [&url](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad Redis URL '", url, "': ", why,
                     " (expected redis://[[user]:password@]host[:port][/db])"));
  };
  absl::string_view rest = url;
  if (!absl::StartsWith(rest, kScheme)) return bad("it must start with redis://");
  rest.remove_prefix(kScheme.size());
  RedisUrl result;

  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view credentials = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    size_t colon = credentials.find(':');
    absl::StatusOr<std::string> user = Unescape(credentials.substr(0, colon));
    if (!user.ok()) return bad(user.status().message());
    result.user = *user;
    if (colon == absl::string_view::npos) {
      // redis://secret@host is how redis-cli reads a lone credential: a password.
      result.password = std::move(result.user);
      result.user.clear();
    } else {
      absl::StatusOr<std::string> password = Unescape(credentials.substr(colon + 1));
      if (!password.ok()) return bad(password.status().message());
      result.password = *password;
    }
  }

  absl::string_view authority = rest.substr(0, rest.find('/'));
  absl::string_view path =
      rest.size() > authority.size() ? rest.substr(authority.size() + 1) : absl::string_view();
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return bad("unclosed '[' in the host");
    result.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!absl::StartsWith(after, ":")) return bad("junk after the host");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    result.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (result.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) return bad("bad port");
    result.port = static_cast<uint16_t>(port);
  }
  if (!path.empty() && !absl::SimpleAtoi(path, &result.database)) return bad("bad database");
  if (result.database < 0) return bad("bad database");
  return result;
}

}  // namespace rexec
