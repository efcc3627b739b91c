#include "runtime/service/login_throttle.h"

#include <algorithm>

namespace rexec {

LoginThrottle::LoginThrottle(kj::Timer& timer, kj::Duration max_wait)
    : timer_(timer), max_wait_(max_wait) {}

kj::Duration LoginThrottle::Delay(uint64_t failures) {
  kj::Duration delay = kFirstDelay;
  for (uint64_t i = 1; i < failures && delay < kMaxDelay; ++i) delay = delay * 2;
  return std::min(delay, kMaxDelay);
}

kj::Promise<bool> LoginThrottle::Turn(const std::string& peer) {
  auto found = peers_.find(peer);
  if (found == peers_.end()) return true;
  Peer& record = found->second;
  const kj::TimePoint now = timer_.now();
  const kj::TimePoint turn = std::max(now, record.next_turn);
  if (turn - now > max_wait_) return false;
  // Each waiting attempt takes a turn of its own, so attempts made in parallel are spaced too.
  record.next_turn = turn + Delay(record.failures);
  return timer_.atTime(turn).then([] { return true; });
}

uint64_t LoginThrottle::Failed(const std::string& peer) {
  ForgetStalePeers();
  const kj::TimePoint now = timer_.now();
  Peer& record = peers_.try_emplace(peer, Peer{0, now, now}).first->second;
  ++record.failures;
  record.last_failure = now;
  record.next_turn = std::max(record.next_turn, now + Delay(record.failures));
  return record.failures;
}

void LoginThrottle::Succeeded(const std::string& peer) { peers_.erase(peer); }

void LoginThrottle::ForgetStalePeers() {
  const kj::TimePoint now = timer_.now();
  for (auto it = peers_.begin(); it != peers_.end();) {
    it = now - it->second.last_failure > kForgetAfter ? peers_.erase(it) : std::next(it);
  }
  if (peers_.size() < kMaxPeers) return;
  auto oldest = std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
    return a.second.last_failure < b.second.last_failure;
  });
  peers_.erase(oldest);
}

}  // namespace rexec
