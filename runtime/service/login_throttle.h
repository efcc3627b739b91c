// Slows down token guessing: after a failed login, the next attempt from the same peer address
// waits, longer after each further failure.
//
// The delay doubles with each failure from an address, from kFirstDelay up to kMaxDelay, and
// applies to every attempt from that address, made one after another: a guesser that opens many
// connections at once waits for its turn on each. An attempt that would wait longer than
// `max_wait` (the login deadline) is refused at once without its token being looked at. Other
// addresses are not slowed. A success forgets the address's failures, and so does
// kForgetAfter without a failure; at most kMaxPeers addresses are remembered (the one whose last
// failure is oldest goes first).
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include <cstdint>
#include <map>
#include <string>

namespace rexec {

class LoginThrottle {
 public:
  static constexpr kj::Duration kFirstDelay = 100 * kj::MILLISECONDS;
  static constexpr kj::Duration kMaxDelay = 2 * kj::SECONDS;
  static constexpr kj::Duration kForgetAfter = 10 * kj::MINUTES;
  static constexpr size_t kMaxPeers = 4096;

  LoginThrottle(kj::Timer& timer, kj::Duration max_wait);

  // When an attempt from `peer` (an address without port) may be checked: resolves true at its
  // turn, or false at once when that turn is further off than `max_wait`.
  kj::Promise<bool> Turn(const std::string& peer);

  // The attempt's outcome. Failed() returns how many failures in a row the address has made.
  uint64_t Failed(const std::string& peer);
  void Succeeded(const std::string& peer);

 private:
  struct Peer {
    uint64_t failures;
    kj::TimePoint next_turn;  // no attempt is checked before this
    kj::TimePoint last_failure;
  };
  static kj::Duration Delay(uint64_t failures);
  void ForgetStalePeers();

  kj::Timer& timer_;
  const kj::Duration max_wait_;
  std::map<std::string, Peer> peers_;
};

}  // namespace rexec
