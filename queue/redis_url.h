// Where a Redis server is, as redis-cli takes it: redis://[[user]:password@]host[:port][/db].
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace rexec {

struct RedisUrl {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string user;      // empty: the default user (AUTH with a password only)
  std::string password;  // empty: no AUTH
  int database = 0;

  // The URL without its password, for messages and logs.
  std::string Redacted() const;
};

absl::StatusOr<RedisUrl> ParseRedisUrl(const std::string& url);

}  // namespace rexec
