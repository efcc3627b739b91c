// Counts the words on stdin and prints the most frequent ones: iostreams, std::map, argv.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  size_t top = 10;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--top") == 0) top = std::strtoul(argv[i + 1], nullptr, 10);
  }
  std::map<std::string, int> counts;
  std::string word;
  while (std::cin >> word) ++counts[word];

  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (sorted.size() > top) sorted.resize(top);
  for (const auto& [w, n] : sorted) std::cout << n << " " << w << "\n";
  return 0;
}
