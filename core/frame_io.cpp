#include "core/frame_io.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

constexpr size_t kHeaderBytes = 9;

// Waits until `fd` is ready for `events`, or the deadline passes.
absl::Status AwaitReady(int fd, short events, const FrameDeadline& deadline) {
  while (true) {
    int timeout_ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline -
                                                               std::chrono::steady_clock::now());
      if (left.count() <= 0) return absl::DeadlineExceededError("the helper process did not answer in time");
      timeout_ms = static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
    }
    pollfd waiting{fd, events, 0};
    int ready = poll(&waiting, 1, timeout_ms);
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
  }
}

absl::Status WriteAll(int fd, std::string_view bytes, const FrameDeadline& deadline) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a peer that died makes this fail with EPIPE instead of killing the writer
    // (a worker embedded in someone's program must not change its SIGPIPE disposition).
    ssize_t written = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (written < 0 && errno == ENOTSOCK) written = write(fd, bytes.data(), bytes.size());
    if (written > 0) {
      bytes.remove_prefix(static_cast<size_t>(written));
    } else if (written < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (absl::Status ready = AwaitReady(fd, POLLOUT, deadline); !ready.ok()) return ready;
    } else {
      return absl::UnavailableError(
          absl::StrCat("helper process channel: ", std::strerror(written < 0 ? errno : EPIPE)));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadExactly(int fd, char* into, size_t size, const FrameDeadline& deadline) {
  while (size > 0) {
    if (deadline) {
      if (absl::Status ready = AwaitReady(fd, POLLIN, deadline); !ready.ok()) return ready;
    }
    ssize_t got = read(fd, into, size);
    if (got > 0) {
      into += got;
      size -= static_cast<size_t>(got);
    } else if (got == 0) {
      return absl::OutOfRangeError("the helper process closed its channel");
    } else if (errno != EINTR && errno != EAGAIN) {
      return absl::UnavailableError(absl::StrCat("helper process channel: ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AwaitReadable(int fd, FrameDeadline deadline) {
  return AwaitReady(fd, POLLIN, deadline);
}

absl::Status WriteFrame(int fd, uint8_t kind, std::string_view payload, FrameDeadline deadline) {
  char header[kHeaderBytes];
  header[0] = static_cast<char>(kind);
  uint64_t length = payload.size();
  for (int i = 0; i < 8; ++i) header[1 + i] = static_cast<char>(length >> (8 * i));
  if (absl::Status status = WriteAll(fd, std::string_view(header, kHeaderBytes), deadline);
      !status.ok()) {
    return status;
  }
  return WriteAll(fd, payload, deadline);
}

absl::StatusOr<Frame> ReadFrame(int fd, uint64_t max_payload, FrameDeadline deadline) {
  unsigned char header[kHeaderBytes];
  if (absl::Status status =
          ReadExactly(fd, reinterpret_cast<char*>(header), kHeaderBytes, deadline);
      !status.ok()) {
    return status;
  }
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(header[1 + i]) << (8 * i);
  if (length > max_payload) {
    return absl::DataLossError(absl::StrCat("the helper process sent ", length,
                                            " bytes, more than the ", max_payload, " allowed"));
  }
  Frame frame{header[0], std::string(length, '\0')};
  if (absl::Status status = ReadExactly(fd, frame.payload.data(), length, deadline);
      !status.ok()) {
    return status;
  }
  return frame;
}

}  // namespace rexec
