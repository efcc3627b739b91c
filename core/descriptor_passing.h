// One message with descriptors attached (SCM_RIGHTS), over a Unix stream socket: how the worker
// hands a job's pipes to its module's template and gets the job's pidfd back. Both ends send and
// receive whole fixed-size messages, so each message's descriptors arrive with its bytes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <span>

namespace rexec {

inline constexpr size_t kMaxPassedDescriptors = 16;

// Sends `size` bytes with `fds` (at most kMaxPassedDescriptors) attached. EINTR is retried and a
// closed peer is an error (EPIPE), never SIGPIPE. Returns the bytes sent, or -1 with errno set.
ssize_t SendWithDescriptors(int socket, const void* bytes, size_t size, std::span<const int> fds);

// Waits for `size` bytes and the descriptors sent with them (close-on-exec), at most
// `fds.size()`; `received` says how many arrived. Returns the bytes received (fewer than `size`
// only at the end of the stream), or -1 with errno set; descriptors that did not fit are closed
// and make it -1 (EPROTO).
ssize_t ReceiveWithDescriptors(int socket, void* bytes, size_t size, std::span<int> fds,
                               size_t& received);

}  // namespace rexec
