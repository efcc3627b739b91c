// Writes 8 MiB of pseudo-random bytes (NULs included) to stdout: the same generator as the test
// that checks them.
#include <cstdint>
#include <cstdio>

int main() {
  uint32_t state = 1;
  unsigned char buffer[4096];
  for (int block = 0; block < 2048; ++block) {
    for (unsigned char& byte : buffer) {
      state = state * 1103515245u + 12345u;
      byte = static_cast<unsigned char>(state >> 16);
    }
    std::fwrite(buffer, 1, sizeof buffer, stdout);
  }
  std::fprintf(stderr, "wrote 8 MiB\n");
  return 0;
}
