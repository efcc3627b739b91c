// One connection to a Redis server on the kj event loop, pipelined.
//
// hiredis supplies the protocol (its command formatter and its RESP reply parser); kj supplies
// the socket. Every Call() is appended to an outgoing buffer that is written once per event-loop
// turn, so commands issued together travel in one write and their replies come back in order:
// pipelining needs no extra API. A blocking command (XREADGROUP BLOCK, XREAD BLOCK) holds the
// commands queued behind it, so a user gives blocking reads a connection of their own.
//
// When the connection drops, every call in flight and every later call fails with a
// DISCONNECTED kj exception; a new connection is the caller's business (RedisLink).
#pragma once

#include <kj/async-io.h>
#include <kj/timer.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "queue/redis_url.h"

struct redisReply;
struct redisReader;

namespace rexec {

// A borrowed node of a reply tree.
class RedisValue {
 public:
  explicit RedisValue(const redisReply* reply) : reply_(reply) {}

  bool is_nil() const;
  bool is_error() const;
  bool is_integer() const;
  bool is_string() const;  // a bulk or status string
  bool is_array() const;

  std::string_view str() const;  // a string's (or an error's) bytes; empty otherwise
  long long integer() const;     // 0 unless an integer
  size_t size() const;           // an array's length; 0 otherwise
  RedisValue operator[](size_t i) const;

 private:
  const redisReply* reply_;
};

// An owned reply tree.
class RedisReply {
 public:
  explicit RedisReply(redisReply* reply);
  RedisReply(RedisReply&&) noexcept;
  RedisReply& operator=(RedisReply&&) noexcept;
  ~RedisReply();

  RedisValue value() const { return RedisValue(reply_); }
  // Shorthands for value().
  bool is_error() const { return value().is_error(); }
  std::string_view str() const { return value().str(); }

 private:
  redisReply* reply_;
};

class RedisConnection {
 public:
  // Connects, authenticates and selects the URL's database, within `timeout`.
  static kj::Promise<kj::Own<RedisConnection>> Connect(kj::AsyncIoProvider& io, kj::Timer& timer,
                                                       const RedisUrl& url,
                                                       kj::Duration timeout);
  ~RedisConnection() noexcept(false);

  // Sends one command. An error reply resolves normally (is_error()); a lost connection rejects.
  kj::Promise<RedisReply> Call(const std::vector<std::string_view>& args);
  // Like Call, but an error reply rejects with a FAILED exception that quotes it.
  kj::Promise<RedisReply> CallOrThrow(const std::vector<std::string_view>& args);

  bool connected() const { return broken_ == nullptr; }
  // Resolves when the connection has dropped.
  kj::Promise<void> OnDisconnect() { return disconnected_.addBranch(); }

 private:
  RedisConnection(kj::Own<kj::AsyncIoStream> stream);
  kj::Promise<void> ReadLoop();
  kj::Promise<void> WriteLoop();
  void Fail(kj::Exception exception);

  kj::Own<kj::AsyncIoStream> stream_;
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader_;
  std::string outbox_;   // formatted commands not yet handed to the socket
  bool writing_ = false;
  std::deque<kj::Own<kj::PromiseFulfiller<RedisReply>>> waiting_;  // in the order sent
  kj::Maybe<kj::Exception> broken_;                                 // why it dropped
  kj::Own<kj::PromiseFulfiller<void>> disconnect_fulfiller_;
  kj::ForkedPromise<void> disconnected_;
  kj::Promise<void> reading_ = nullptr;
  kj::Promise<void> write_loop_ = nullptr;
};

}  // namespace rexec
