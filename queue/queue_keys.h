// The Redis keys of one rexec queue. Clients and workers that use the same queue name on the same
// Redis see each other; different names never do.
//
//   rexec:NAME:jobs              stream of QueuedJob entries, consumed by the group "workers"
//   rexec:NAME:dead              dead-letter stream: jobs that kept killing their workers
//   rexec:NAME:module:HEX        a module's bitcode, stored once under its content hash
//   rexec:NAME:file:HEX          an input file, stored once under its content hash
//   rexec:NAME:upload:HEX:CLIENT an input file on its way in, renamed to file:HEX when complete
//   rexec:NAME:reply:CLIENT      stream of QueueReply entries for one client
//   rexec:NAME:client:CLIENT     exists while that client lives (refreshed, expires)
//   rexec:NAME:info              what the workers run (WorkerInfo), for clients to compile for
//   rexec:NAME:worker:CONSUMER   one worker's counters (WorkerStats), refreshed, expires
//   rexec:NAME:stats             queue-wide counters: jobs completed, in total and per worker
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "rexec/content_hash.h"

namespace rexec {

inline constexpr char kDefaultQueueName[] = "rexec";
inline constexpr char kQueueGroup[] = "workers";

// Queue names, client ids and consumer names go into key names: letters, digits, '.', '_', '-'
// and ':', at most 128 bytes.
absl::Status CheckQueueIdentifier(const std::string& what, const std::string& value);

// A name for one participant of a queue (a worker's consumer name, a client's id) that is unique
// across machines and restarts and valid in key names: "HOST:PID:RANDOM".
std::string UniqueParticipantName();

// The clock of job deadlines, shared by clients and workers: Unix time in milliseconds.
uint64_t UnixMilliseconds();

class QueueKeys {
 public:
  explicit QueueKeys(const std::string& queue_name);

  const std::string& jobs() const { return jobs_; }
  const std::string& dead_letters() const { return dead_; }
  const std::string& info() const { return info_; }
  const std::string& stats() const { return stats_; }
  std::string module(const ContentHash& hash) const;
  std::string file(const ContentHash& hash) const;
  std::string file_upload(const ContentHash& hash, const std::string& client) const;
  std::string reply(const std::string& client) const;
  std::string client_alive(const std::string& client) const;
  std::string worker(const std::string& consumer) const;
  std::string worker_pattern() const;  // for SCAN MATCH

 private:
  std::string prefix_;
  std::string jobs_, dead_, info_, stats_;
};

}  // namespace rexec
