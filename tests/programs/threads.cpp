// std::thread, thread_local (one instance per thread), std::mutex and atomics.
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

thread_local int per_thread = 0;
std::atomic<int> total{0};
int runs = 0;

int main() {
  ++runs;
  constexpr int kThreads = 4;
  std::vector<int> seen(kThreads);
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &seen, &mutex] {
      for (int i = 0; i <= t * 1000; ++i) ++per_thread;
      total += per_thread;
      std::lock_guard<std::mutex> lock(mutex);
      seen[t] = per_thread;
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) std::printf("thread %d saw thread_local=%d\n", t, seen[t]);
  std::printf("main thread_local=%d total=%d runs=%d\n", per_thread, total.load(), runs);
  return 0;
}
