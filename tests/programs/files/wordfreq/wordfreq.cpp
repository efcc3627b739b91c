// wordfreq: the most frequent words of the text on stdin, the way such filters are written:
//   wordfreq [-n N] [--min-length K] [--ignore-case] [--stopwords FILE] < text
// Words are runs of letters and apostrophes. Exit 0 with a table, 1 when the input has no
// words, 2 (with usage on stderr) for a bad option or an unreadable stopwords file.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
  size_t top = 10;
  size_t min_length = 1;
  bool ignore_case = false;
  std::set<std::string> stopwords;
};

int Usage(const std::string& problem) {
  std::cerr << "wordfreq: " << problem << "\n"
            << "usage: wordfreq [-n N] [--min-length K] [--ignore-case] [--stopwords FILE] < text\n";
  return 2;
}

std::string Normalized(std::string word, bool ignore_case) {
  if (ignore_case) {
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return word;
}

bool ParseCount(const char* text, size_t& value) {
  char* end = nullptr;
  long parsed = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || parsed < 0) return false;
  value = static_cast<size_t>(parsed);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string stopwords_file;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "-n") {
      const char* v = value();
      if (v == nullptr || !ParseCount(v, options.top)) return Usage("-n needs a count");
    } else if (arg == "--min-length") {
      const char* v = value();
      if (v == nullptr || !ParseCount(v, options.min_length)) {
        return Usage("--min-length needs a count");
      }
    } else if (arg == "--ignore-case") {
      options.ignore_case = true;
    } else if (arg == "--stopwords") {
      const char* v = value();
      if (v == nullptr) return Usage("--stopwords needs a file");
      stopwords_file = v;
    } else {
      return Usage("unknown option " + std::string(arg));
    }
  }
  if (!stopwords_file.empty()) {
    std::ifstream in(stopwords_file);
    if (!in) return Usage("cannot read " + stopwords_file);
    for (std::string word; in >> word;) {
      options.stopwords.insert(Normalized(word, options.ignore_case));
    }
  }

  std::map<std::string, size_t> counts;
  size_t total = 0;
  std::string word;
  auto flush = [&] {
    if (word.size() >= options.min_length) {
      std::string key = Normalized(word, options.ignore_case);
      if (options.stopwords.count(key) == 0) {
        ++counts[key];
        ++total;
      }
    }
    word.clear();
  };
  for (char c; std::cin.get(c);) {
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'') {
      word += c;
    } else {
      flush();
    }
  }
  flush();
  if (total == 0) {
    std::cerr << "wordfreq: no words\n";
    return 1;
  }

  std::vector<std::pair<std::string, size_t>> ranked(counts.begin(), counts.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (ranked.size() > options.top) ranked.resize(options.top);
  std::cout << total << " words, " << counts.size() << " distinct\n";
  for (const auto& [text, count] : ranked) std::cout << count << "\t" << text << "\n";
  return 0;
}
