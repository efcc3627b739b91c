// A hash-map workload: std::unordered_map inserts, lookups and erases with string keys.
#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_map>

int main() {
  auto start = std::chrono::steady_clock::now();
  std::unordered_map<std::string, long> counts;
  unsigned long seed = 12345;
  long found = 0;
  for (int i = 0; i < 3'000'000; ++i) {
    seed = seed * 6364136223846793005ul + 1442695040888963407ul;
    std::string key = "key" + std::to_string((seed >> 33) % 200'000);
    counts[key] += i;
    if (i % 3 == 0) found += counts.count("key" + std::to_string(i % 1000));
    if (i % 7 == 0) counts.erase("key" + std::to_string((seed >> 40) % 200'000));
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("checksum: %zu %ld\nkernel_ns: %lld\n", counts.size(), found, static_cast<long long>(ns));
}
