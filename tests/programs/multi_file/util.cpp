// The second translation unit: main.cpp calls into it, so it must be linked in.
#include "text_stats.h"

void Accumulate(TextStats& stats, std::string_view chunk) {
  for (unsigned char c : chunk) {
    stats.bytes++;
    if (c == '\n') stats.lines++;
    stats.fnv1a = (stats.fnv1a ^ c) * 1099511628211ull;
  }
}
