// A Redis connection that comes back after Redis restarts or the network drops it.
//
// Get() yields a live connection, connecting first when there is none; after a failure it retries
// with backoff (100 ms doubling up to 5 s) until one succeeds, so callers simply call Get() again
// after a DISCONNECTED error. An outage is logged once when it starts and once when it ends,
// never once per retry.
#pragma once

#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstdint>
#include <string>

#include "queue/redis_connection.h"
#include "queue/redis_url.h"

namespace rexec {

class RedisLink {
 public:
  // `purpose` names the link in log lines ("queue reads", ...).
  RedisLink(kj::AsyncIoProvider& io, kj::Timer& timer, RedisUrl url, std::string purpose);
  ~RedisLink() noexcept(false);

  kj::Promise<RedisConnection*> Get();
  // One attempt, no retries: for a first connection whose failure the user should hear about.
  kj::Promise<RedisConnection*> ConnectOnce();

  // How many connections were made so far: a caller that saw it change knows a reconnection
  // happened (and state kept only by the old server may be gone).
  uint64_t connections() const { return connections_; }
  const RedisUrl& url() const { return url_; }

 private:
  kj::Promise<void> Reconnect(kj::Duration backoff);
  kj::Promise<kj::Own<RedisConnection>> Attempt();

  kj::AsyncIoProvider& io_;
  kj::Timer& timer_;
  const RedisUrl url_;
  const std::string purpose_;
  kj::Own<RedisConnection> connection_;
  kj::ForkedPromise<void> connecting_ = nullptr;
  bool reconnecting_ = false;
  bool outage_logged_ = false;
  uint64_t connections_ = 0;
};

}  // namespace rexec
