// Sorting 10 million integers with std::sort.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main() {
  std::vector<int> values(10'000'000);
  unsigned seed = 42;
  for (int& v : values) v = static_cast<int>(seed = seed * 1664525u + 1013904223u);
  auto start = std::chrono::steady_clock::now();
  std::sort(values.begin(), values.end());
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("checksum: %d %d\nkernel_ns: %lld\n", values.front(), values[values.size() / 2], static_cast<long long>(ns));
}
