// Moves what a child writes to its stdout and stderr into a JobIo while it runs.
//
// The pipes are read directly, so that "everything the child has written so far" has a precise
// meaning: Finish() reads each pipe until it is empty, without waiting for more. That is what
// lets a long-lived command executor stream a job's output live and still hand over exactly that
// job's output: it flushes before it answers, so once the answer is in, what is left in the
// pipes is the rest of that job's output. A program's pipes are finished once it exited, so a
// descendant that keeps them open cannot hold the job.
//
// A warm executor's pipes are empty between its jobs, and its answer says whether they still
// held output (command_protocol::kOutputLeft): a job that writes nothing then costs the pump no
// read at all, only the wait the event loop already has on each pipe.
#pragma once

#include <kj/async.h>

#include <cstdint>

#include "runtime/exec/child_process.h"
#include "runtime/exec/job_io.h"

namespace rexec {

class OutputPump {
 public:
  enum class Pipes {
    kMayHoldOutput,  // read them at once: the child may have written already
    kEmpty,          // wait for the child's first write (an executor's pipes between jobs)
  };

  // Starts pumping at once. `limit_bytes` bounds stdout and stderr together (0: no bound); the
  // child's process group is killed when it writes past it. `child` and `io` must outlive this.
  OutputPump(ChildProcess& child, JobIo& io, uint64_t limit_bytes,
             Pipes pipes = Pipes::kMayHoldOutput);

  // Stops waiting for output, delivers what is left in the pipes (with kEmpty: what was read
  // already), and resolves when `io` took it all. Call once.
  kj::Promise<void> Finish(Pipes left = Pipes::kMayHoldOutput);

  bool limit_hit() const { return limit_hit_; }

 private:
  kj::Promise<void> Pump(OutputKind kind);
  kj::Promise<void> AwaitOutput(OutputKind kind);

  ChildProcess& child_;
  JobIo& io_;
  const uint64_t limit_bytes_;
  uint64_t written_bytes_ = 0;
  bool limit_hit_ = false;
  bool finishing_ = false;
  bool left_in_pipes_ = true;  // at the finish: whether to read the pipes until empty
  kj::Own<kj::PromiseFulfiller<void>> finish_;
  kj::ForkedPromise<void> finish_requested_;
  kj::Promise<void> pumping_ = nullptr;
};

}  // namespace rexec
