// Reads every file below a data directory (whitespace-separated integers), writes a summary per
// file to out/result.csv and prints the totals: sim DATA_DIR [--scale N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sim DATA_DIR [--scale N]\n");
    return 1;
  }
  long scale = 1;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--scale") == 0) scale = std::atol(argv[i + 1]);
  }
  std::filesystem::path data = argv[1];
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::recursive_directory_iterator it(data, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_regular_file()) files.push_back(it->path());
  }
  if (error) {
    std::fprintf(stderr, "sim: cannot read %s: %s\n", argv[1], error.message().c_str());
    return 1;
  }
  std::sort(files.begin(), files.end());
  std::filesystem::create_directories("out");
  std::ofstream csv("out/result.csv");
  csv << "file,count,scaled_sum\n";
  long numbers = 0, total = 0;
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file);
    long value, count = 0, sum = 0;
    while (in >> value) {
      ++count;
      sum += value;
    }
    csv << file.lexically_relative(data).generic_string() << "," << count << "," << sum * scale
        << "\n";
    numbers += count;
    total += sum * scale;
  }
  std::printf("files %zu numbers %ld total %ld\n", files.size(), numbers, total);
  return files.empty() ? 3 : 0;
}
