// How many jobs a worker runs at once, and whose job goes next when that many run.
//
// Each source of jobs (a client connection, the Redis queue) runs at most its own limit at once,
// and the worker at most `max_running` over all sources. A job beyond either limit waits. When a
// slot frees, the sources with waiting jobs take turns (round-robin between sources, first come
// first served within one), so a client that sends a hundred jobs delays another client's next
// job by at most one of its own, not by a hundred.
//
// A job holds its place through the Slot it was given: destroying the Slot frees it, whatever
// ended the job (exit, crash, timeout, a client gone). A waiting job whose promise is dropped
// (cancelled, timed out while waiting) leaves the queue. Single-threaded: the worker's event loop.
#pragma once

#include <kj/async.h>
#include <kj/refcount.h>

#include <cstddef>
#include <deque>

namespace rexec {

class JobAdmission {
 public:
  class Source;
  class Slot;

  explicit JobAdmission(size_t max_running);
  ~JobAdmission();
  JobAdmission(const JobAdmission&) = delete;
  JobAdmission& operator=(const JobAdmission&) = delete;

  // A new source of jobs that may run `max_running` at once (0: bounded by the worker's limit
  // only). It lives as long as its last job does.
  kj::Own<Source> NewSource(size_t max_running);

  // Resolves with the job's slot once it may run.
  kj::Promise<kj::Own<Slot>> Enter(Source& source);

  size_t max_running() const { return max_running_; }
  size_t running() const { return running_; }
  size_t waiting() const { return waiting_; }

 private:
  struct Waiter;
  bool MayStart(const Source& source) const;
  kj::Own<Slot> Start(Source& source);
  void Released(Source& source);
  void Withdraw(Waiter& waiter);
  // Starts waiting jobs while slots are free, one per source per turn.
  void StartWaiting();

  const size_t max_running_;
  size_t running_ = 0;
  size_t waiting_ = 0;
  std::deque<Source*> turns_;  // sources with waiting jobs, whose turn is next first
};

class JobAdmission::Source final : public kj::Refcounted {
 public:
  Source(JobAdmission& admission, size_t max_running)
      : admission_(admission), max_running_(max_running) {}
  size_t running() const { return running_; }
  size_t max_running() const { return max_running_; }

 private:
  friend class JobAdmission;
  JobAdmission& admission_;
  const size_t max_running_;
  size_t running_ = 0;
  std::deque<Waiter*> waiting_;
};

class JobAdmission::Slot {
 public:
  explicit Slot(kj::Own<Source> source) : source_(kj::mv(source)) {}
  ~Slot();
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  kj::Own<Source> source_;
};

}  // namespace rexec
