// Uses the system's zlib (-lz): compresses a text, inflates it back and prints its checksum.
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <string>

int main() {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "rexec ships code, zlib squeezes it. ";
  uLongf packed_size = compressBound(text.size());
  std::string packed(packed_size, '\0');
  if (compress(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
               reinterpret_cast<const Bytef*>(text.data()), text.size()) != Z_OK) {
    return 1;
  }
  std::string unpacked(text.size(), '\0');
  uLongf unpacked_size = unpacked.size();
  if (uncompress(reinterpret_cast<Bytef*>(unpacked.data()), &unpacked_size,
                 reinterpret_cast<const Bytef*>(packed.data()), packed_size) != Z_OK) {
    return 2;
  }
  std::printf("zlib %s: %zu bytes packed to %lu, round trip %s, crc32 %08lx\n",
              std::strncmp(zlibVersion(), ZLIB_VERSION, 4) == 0 ? "matches" : "differs",
              text.size(), packed_size, unpacked == text ? "ok" : "BROKEN",
              crc32(0, reinterpret_cast<const Bytef*>(text.data()), text.size()));
  return 0;
}
