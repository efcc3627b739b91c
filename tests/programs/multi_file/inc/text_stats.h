// Found only through -Iinc.
#pragma once

#include <cstdint>
#include <string_view>

struct TextStats {
  uint64_t lines = 0;
  uint64_t bytes = 0;
  uint64_t fnv1a = 14695981039346656037ull;
};

void Accumulate(TextStats& stats, std::string_view chunk);
