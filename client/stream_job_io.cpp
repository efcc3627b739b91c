#include "client/stream_job_io.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/fd_io.h"

namespace rexec {
namespace {

constexpr uint32_t kMaxReadChunk = 1 << 20;

}  // namespace

bool HasNoInput(int fd) {
  struct stat info;
  if (fd < 0 || fstat(fd, &info) != 0) return fd < 0;
  return S_ISCHR(info.st_mode) && info.st_rdev == makedev(1, 3);  // Linux's /dev/null
}

StreamJobIo::StreamJobIo(ProgramStreams streams) : streams_(streams) {
  // No reader thread for an input that can only end.
  if (!HasNoInput(streams_.stdin_fd)) stdin_ = std::make_unique<FdReader>(streams_.stdin_fd);
}

kj::Promise<void> StreamJobIo::write(WriteContext context) {
  auto params = context.getParams();
  int fd = params.getStream() == wire::OutputStream::STDOUT ? streams_.stdout_fd
                                                            : streams_.stderr_fd;
  capnp::Data::Reader data = params.getData();
  // A closed stdout is the local user's choice, not the job's failure: nothing to report.
  if (fd >= 0) WriteFully(fd, data.begin(), data.size());
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
