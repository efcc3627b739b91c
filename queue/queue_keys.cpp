#include "queue/queue_keys.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"

namespace rexec {

absl::Status CheckQueueIdentifier(const std::string& what, const std::string& value) {
  bool valid = !value.empty() && value.size() <= 128;
  for (char c : value) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-' || c == ':');
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " '", value,
                   "' must be 1 to 128 letters, digits, '.', '_', '-' or ':'"));
}

std::string UniqueParticipantName() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string name;
  for (const char* c = host; *c != '\0' && name.size() < 64; ++c) {
    name += (std::isalnum(static_cast<unsigned char>(*c)) || *c == '.' || *c == '-') ? *c : '_';
  }
  if (name.empty()) name = "host";
  std::random_device random;
  return absl::StrCat(name, ":", getpid(), ":", absl::Hex(random()), absl::Hex(random()));
}

uint64_t UnixMilliseconds() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

QueueKeys::QueueKeys(const std::string& queue_name)
    : prefix_(absl::StrCat("rexec:", queue_name, ":")),
      jobs_(prefix_ + "jobs"),
      dead_(prefix_ + "dead"),
      info_(prefix_ + "info"),
      stats_(prefix_ + "stats") {}

std::string QueueKeys::module(const ContentHash& hash) const {
  return absl::StrCat(prefix_, "module:", hash.hex());
}

std::string QueueKeys::file(const ContentHash& hash) const {
  return absl::StrCat(prefix_, "file:", hash.hex());
}

std::string QueueKeys::file_upload(const ContentHash& hash, const std::string& client) const {
  return absl::StrCat(prefix_, "upload:", hash.hex(), ":", client);
}
std::string QueueKeys::reply(const std::string& client) const {
  return absl::StrCat(prefix_, "reply:", client);
}
std::string QueueKeys::client_alive(const std::string& client) const {
  return absl::StrCat(prefix_, "client:", client);
}
std::string QueueKeys::worker(const std::string& consumer) const {
  return absl::StrCat(prefix_, "worker:", consumer);
}
std::string QueueKeys::worker_pattern() const { return absl::StrCat(prefix_, "worker:*"); }

}  // namespace rexec
