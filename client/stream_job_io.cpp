#include "client/stream_job_io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace rexec {
namespace {

constexpr uint32_t kMaxReadChunk = 1 << 20;

void WriteAll(int fd, const kj::byte* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed stdout is the local user's choice, not the job's failure
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

StreamJobIo::StreamJobIo(ProgramStreams streams) : streams_(streams) {
  if (streams_.stdin_fd >= 0) stdin_ = std::make_unique<FdReader>(streams_.stdin_fd);
}

kj::Promise<void> StreamJobIo::write(WriteContext context) {
  auto params = context.getParams();
  int fd = params.getStream() == wire::OutputStream::STDOUT ? streams_.stdout_fd
                                                            : streams_.stderr_fd;
  capnp::Data::Reader data = params.getData();
  if (fd >= 0) WriteAll(fd, data.begin(), data.size());
  return kj::READY_NOW;
}

kj::Promise<void> StreamJobIo::read(ReadContext context) {
  if (stdin_ == nullptr) return kj::READY_NOW;  // empty data: end of input
  size_t max_bytes = std::min(context.getParams().getMaxBytes(), kMaxReadChunk);
  return stdin_->Read(max_bytes).then([context](kj::Array<kj::byte> data) mutable {
    context.getResults().setData(data);
  });
}

}  // namespace rexec
