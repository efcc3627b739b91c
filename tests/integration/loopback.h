// Plain TCP on 127.0.0.1, for tests that talk to a worker's port without Cap'n Proto.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rexec::testing {

// A port on 127.0.0.1 that nothing listens on (bound by the system, then released).
uint16_t UnusedLoopbackPort();

// A connected socket to 127.0.0.1:port, or -1. The caller closes it.
int ConnectLoopback(uint16_t port);

// Writes all of `bytes`; false if the peer is gone.
bool SendAll(int fd, std::string_view bytes);

// GET `path` from 127.0.0.1:port over HTTP/1.0: the whole response, status line and headers
// included; empty if the connection failed.
std::string HttpGet(uint16_t port, std::string_view path);

// Closes with a TCP reset instead of an orderly shutdown.
void CloseWithReset(int fd);

}  // namespace rexec::testing
