// Reads a file descriptor on a helper thread, so that a blocking read (a terminal, a pipe whose
// writer is slow) never stalls the event loop that streams the job's output.
//
// Nothing is read ahead: each Read() performs one read(2) of at most `max_bytes`, so input the
// program never asks for stays unread.
#pragma once

#include <kj/async.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace rexec {

class FdReader {
 public:
  explicit FdReader(int fd);
  ~FdReader();  // wakes the helper thread and joins it, even mid-read

  // The next chunk; an empty array at end of input (or on a read error). Call from the event
  // loop thread, one read at a time.
  kj::Promise<kj::Array<kj::byte>> Read(size_t max_bytes);

 private:
  void ReadLoop();

  const int fd_;
  int wake_pipe_[2] = {-1, -1};
  std::mutex mutex_;
  std::condition_variable requested_;
  std::optional<size_t> request_;  // max bytes of the pending read
  kj::Own<kj::CrossThreadPromiseFulfiller<kj::Array<kj::byte>>> fulfiller_;
  bool stopping_ = false;
  bool at_end_ = false;
  std::thread thread_;
};

}  // namespace rexec
