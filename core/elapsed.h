// Elapsed time, as the timings in job reports and `rexec-send -v` give it.
#pragma once

#include <chrono>
#include <cstdint>

namespace rexec {

// Whole microseconds since `start` on the steady clock.
inline uint64_t MicrosecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace rexec
