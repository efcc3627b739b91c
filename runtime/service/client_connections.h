// The connections to a worker's listener, and what bounds each and all of them, so that careless
// or hostile clients cannot hold the worker's memory, descriptors or time:
//
//  - At most `max_connections` at once. A new connection beyond that makes room by closing the
//    connection idle longest (one that has not logged in goes first); when every connection has
//    a call in flight, the new one is refused with a reason (connection_refusal.h).
//  - A connection must log in within `login_timeout`, and until it has it may send only messages
//    of up to `max_message_before_login` bytes: a larger one is not read before the login
//    (frame_size_gate.h).
//  - A logged-in connection with no call in flight that has sent nothing for `idle_timeout` is
//    closed.
//  - Each connection's jobs are one source for the job admission (job_admission.h).
//
// A connection the worker closes is told why (the reason is the RPC system's Abort message, so
// its pending and next calls fail with it), and the worker logs one line. Single-threaded: the
// worker's event loop.
#pragma once

#include <kj/async-io.h>

#include <cstddef>
#include <list>
#include <string>

#include "runtime/service/frame_size_gate.h"
#include "runtime/service/job_admission.h"

namespace rexec {

struct ConnectionLimits {
  size_t max_connections = 256;
  kj::Duration login_timeout = 10 * kj::SECONDS;
  kj::Duration idle_timeout = 5 * kj::MINUTES;  // 0: never
  uint64_t max_message_before_login = 64 << 10;
  uint64_t max_message = 0;  // what the RPC system reads at all (its ReaderOptions)
  size_t max_jobs_per_connection = 16;
};

class ConnectionTable;

class ClientConnection {
 public:
  // A call in flight: the connection is not idle while one lives.
  class Call {
   public:
    explicit Call(ClientConnection& connection);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    ClientConnection& connection_;
  };

  ClientConnection(ConnectionTable& table, std::string peer, std::string peer_host);
  ~ClientConnection();  // leaves the table
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  const std::string& peer() const { return peer_; }            // "127.0.0.1:40122"
  const std::string& peer_host() const { return peer_host_; }  // "127.0.0.1"
  JobAdmission::Source& jobs() { return *jobs_; }

  // The login succeeded: larger messages may come, the login deadline is off.
  void LoggedIn();
  bool logged_in() const { return logged_in_; }
  kj::Own<Call> StartCall() { return kj::heap<Call>(*this); }

  // The stream the RPC system reads and writes: `stream`, behind this connection's gate. Once.
  kj::Own<kj::AsyncIoStream> Gate(kj::Own<kj::AsyncIoStream> stream);

  // Resolves when the worker has ended the connection; whoever serves it stops then. Once.
  kj::Promise<void> Ended();

 private:
  friend class ConnectionTable;
  bool busy() const { return calls_ > 0; }
  // Tells the peer `reason` (as the RPC system's Abort), and ends the connection shortly after,
  // whether or not the peer listened.
  void Close(const std::string& reason);
  // Ends the connection now, untold.
  void End();
  kj::Promise<void> Watch();
  kj::Promise<void> WatchIdle();

  ConnectionTable& table_;
  const std::string peer_;
  const std::string peer_host_;
  kj::Own<JobAdmission::Source> jobs_;
  const kj::TimePoint opened_;
  kj::TimePoint last_activity_;
  bool logged_in_ = false;
  bool closing_ = false;
  size_t calls_ = 0;
  FrameSizeGate* gate_ = nullptr;  // while the gated stream lives
  kj::Own<kj::PromiseFulfiller<void>> logged_in_fulfiller_;
  kj::Own<kj::PromiseFulfiller<void>> end_;
  kj::Promise<void> ended_;
  kj::Promise<void> watch_;
  kj::Promise<void> grace_;
  std::list<ClientConnection*>::iterator position_;
};

class ConnectionTable {
 public:
  ConnectionTable(const ConnectionLimits& limits, kj::Timer& timer, JobAdmission& admission);
  ~ConnectionTable();

  // The record of a connection just accepted from `peer`, or null when it must be refused (every
  // connection busy). Closes an idle connection to make room when the table is full.
  kj::Own<ClientConnection> Open(std::string peer, std::string peer_host);

  const ConnectionLimits& limits() const { return limits_; }
  kj::Timer& timer() { return timer_; }
  size_t size() const { return open_.size(); }

 private:
  friend class ClientConnection;
  ConnectionLimits limits_;
  kj::Timer& timer_;
  JobAdmission& admission_;
  std::list<ClientConnection*> open_;  // oldest first
  size_t closing_ = 0;                 // of them, closed by the worker and on their way out
};

}  // namespace rexec
