// Plain TCP on 127.0.0.1, for tests that talk to a worker's port without Cap'n Proto.
#pragma once

#include <cstdint>
#include <string_view>

namespace rexec::testing {

// A port on 127.0.0.1 that nothing listens on (bound by the system, then released).
uint16_t UnusedLoopbackPort();

// A connected socket to 127.0.0.1:port, or -1. The caller closes it.
int ConnectLoopback(uint16_t port);

// Writes all of `bytes`; false if the peer is gone.
bool SendAll(int fd, std::string_view bytes);

// Closes with a TCP reset instead of an orderly shutdown.
void CloseWithReset(int fd);

}  // namespace rexec::testing
