#include "client/fd_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace rexec {

FdReader::FdReader(int fd) : fd_(fd) {
  if (pipe2(wake_pipe_, O_CLOEXEC) != 0) at_end_ = true;
  thread_ = std::thread([this] { ReadLoop(); });
}

FdReader::~FdReader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  requested_.notify_all();
  if (wake_pipe_[1] >= 0) {
    char byte = 0;
    (void)!write(wake_pipe_[1], &byte, 1);
  }
  thread_.join();
  if (fulfiller_) fulfiller_->fulfill(kj::Array<kj::byte>());
  for (int fd : wake_pipe_) {
    if (fd >= 0) close(fd);
  }
}

kj::Promise<kj::Array<kj::byte>> FdReader::Read(size_t max_bytes) {
  std::lock_guard lock(mutex_);
  if (at_end_ || stopping_ || max_bytes == 0) return kj::Array<kj::byte>();
  auto paf = kj::newPromiseAndCrossThreadFulfiller<kj::Array<kj::byte>>();
  fulfiller_ = kj::mv(paf.fulfiller);
  request_ = max_bytes;
  requested_.notify_one();
  return kj::mv(paf.promise);
}

void FdReader::ReadLoop() {
  for (;;) {
    size_t max_bytes;
    {
      std::unique_lock lock(mutex_);
      requested_.wait(lock, [this] { return stopping_ || request_.has_value(); });
      if (stopping_) return;
      max_bytes = *request_;
    }
    // poll() first so that the destructor can interrupt a read that would block forever.
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int ready;
    do {
      ready = poll(fds, 2, -1);
    } while (ready < 0 && errno == EINTR);
    if (fds[1].revents != 0) return;
    auto buffer = kj::heapArray<kj::byte>(max_bytes);
    ssize_t n;
    do {
      n = read(fd_, buffer.begin(), max_bytes);
    } while (n < 0 && errno == EINTR);
    std::lock_guard lock(mutex_);
    request_.reset();
    if (n <= 0) {
      at_end_ = true;
      fulfiller_->fulfill(kj::Array<kj::byte>());
    } else {
      fulfiller_->fulfill(kj::heapArray<kj::byte>(buffer.begin(), static_cast<size_t>(n)));
    }
    fulfiller_ = nullptr;
  }
}

}  // namespace rexec
