// Percentiles and timing for the benchmark programs.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace rexec::bench {

using Clock = std::chrono::steady_clock;

inline double MicrosecondsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// The p-th percentile (0..100) of `samples`, nearest rank.
inline double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(p / 100.0 * (samples.size() - 1) + 0.5);
  return samples[std::min(rank, samples.size() - 1)];
}

}  // namespace rexec::bench
