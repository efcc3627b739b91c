#include "queue/redis_link.h"

#include <kj/debug.h>

#include <algorithm>

namespace rexec {
namespace {

constexpr kj::Duration kConnectTimeout = 5 * kj::SECONDS;
constexpr kj::Duration kFirstBackoff = 100 * kj::MILLISECONDS;
constexpr kj::Duration kMaxBackoff = 5 * kj::SECONDS;

}  // namespace

RedisLink::RedisLink(kj::AsyncIoProvider& io, kj::Timer& timer, RedisUrl url, std::string purpose)
    : io_(io), timer_(timer), url_(std::move(url)), purpose_(std::move(purpose)) {}

RedisLink::~RedisLink() noexcept(false) = default;

kj::Promise<kj::Own<RedisConnection>> RedisLink::Attempt() {
  return RedisConnection::Connect(io_, timer_, url_, kConnectTimeout);
}

kj::Promise<RedisConnection*> RedisLink::ConnectOnce() {
  return Attempt().then([this](kj::Own<RedisConnection> connection) -> RedisConnection* {
    connection_ = kj::mv(connection);
    ++connections_;
    return connection_.get();
  });
}

kj::Promise<void> RedisLink::Reconnect(kj::Duration backoff) {
  return Attempt().then(
      [this](kj::Own<RedisConnection> connection) -> kj::Promise<void> {
        connection_ = kj::mv(connection);
        ++connections_;
        if (outage_logged_) {
          KJ_LOG(WARNING, "reconnected to Redis", url_.Redacted().c_str(), purpose_.c_str());
          outage_logged_ = false;
        }
        return kj::READY_NOW;
      },
      [this, backoff](kj::Exception&& exception) -> kj::Promise<void> {
        if (!outage_logged_) {
          KJ_LOG(WARNING, "lost Redis; retrying with backoff", purpose_.c_str(),
                 exception.getDescription());
          outage_logged_ = true;
        }
        return timer_.afterDelay(backoff).then([this, backoff] {
          return Reconnect(std::min(backoff * 2, kMaxBackoff));
        });
      });
}

kj::Promise<RedisConnection*> RedisLink::Get() {
  if (connection_.get() != nullptr && connection_->connected()) return connection_.get();
  if (!reconnecting_) {
    if (connection_.get() != nullptr && !outage_logged_) {
      KJ_LOG(WARNING, "lost Redis; reconnecting", url_.Redacted().c_str(), purpose_.c_str());
      outage_logged_ = true;
    }
    connection_ = nullptr;
    reconnecting_ = true;
    // The previous fork (if any) has finished, so replacing it here is safe; it is never
    // dropped from inside its own continuation.
    connecting_ = Reconnect(kFirstBackoff).then([this] { reconnecting_ = false; }).fork();
  }
  return connecting_.addBranch().then([this]() -> RedisConnection* { return connection_.get(); });
}

}  // namespace rexec
