// Whole reads and writes on a blocking descriptor: short transfers are continued and EINTR is
// retried, so a caller sees only "all of it" or "the descriptor failed or reached its end".
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace rexec {

// One read of up to `size` bytes, retried through EINTR: what read() returns otherwise (-1 with
// errno set, 0 at the end, or the bytes read).
ssize_t ReadSome(int fd, void* buffer, size_t size);

// False when the descriptor fails or reaches end of file before `size` bytes arrived.
bool ReadFully(int fd, void* buffer, size_t size);

// False when the descriptor fails before all `size` bytes were written.
bool WriteFully(int fd, const void* buffer, size_t size);

}  // namespace rexec
