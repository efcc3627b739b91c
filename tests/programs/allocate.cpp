// Asks for 256 MiB and says whether it got them (exit 3 if not).
#include <cstdio>
#include <cstdlib>

int main() {
  void* block = std::malloc(256u << 20);
  bool allocated = block != nullptr;
  std::free(block);
  std::printf(allocated ? "allocated 256 MiB\n" : "allocation of 256 MiB failed\n");
  return allocated ? 0 : 3;
}
