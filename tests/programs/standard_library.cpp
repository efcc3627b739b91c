// A tour of the standard library a real program leans on: <regex>, <chrono>, <random>, maps,
// iostreams and the printf family.
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>

int runs = 0;

int main() {
  ++runs;

  std::string log = "alpha=1, beta=22, gamma=333";
  std::regex pair(R"((\w+)=(\d+))");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), pair); it != std::sregex_iterator();
       ++it) {
    std::printf("regex %s -> %s\n", (*it)[1].str().c_str(), (*it)[2].str().c_str());
  }
  std::printf("regex_replace: %s\n", std::regex_replace(log, std::regex(R"(\d+)"), "#").c_str());

  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto slept = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::printf("chrono slept at least 20 ms: %s\n", slept.count() >= 20 ? "yes" : "no");
  auto year = std::chrono::year_month_day(
                  std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()))
                  .year();
  std::printf("chrono system_clock year after 2020: %s\n",
              year > std::chrono::year(2020) ? "yes" : "no");

  std::mt19937 generator;  // default seed 5489: the standard fixes the 10000th value
  for (int i = 1; i < 10000; ++i) generator();
  std::printf("mt19937 10000th=%u\n", static_cast<unsigned>(generator()));
  std::uniform_int_distribution<int> die(1, 6);
  bool in_range = true;
  for (int i = 0; i < 1000; ++i) in_range = in_range && die(generator) >= 1 && die(generator) <= 6;
  std::printf("uniform_int_distribution in range: %s\n", in_range ? "yes" : "no");

  std::map<std::string, int> ordered = {{"pear", 3}, {"apple", 1}, {"fig", 2}};
  std::string keys;
  for (const auto& [key, value] : ordered) keys += key + ":" + std::to_string(value) + " ";
  std::printf("map in order: %s\n", keys.c_str());
  std::unordered_map<std::string, int> counts;
  std::istringstream words("a b a c b a");
  for (std::string word; words >> word;) ++counts[word];
  std::printf("unordered_map a=%d b=%d c=%d size=%zu\n", counts["a"], counts["b"], counts["c"],
              counts.size());

  std::ostringstream formatted;
  formatted << std::setw(6) << std::setfill('.') << 42 << '|' << std::hex << 255 << '|'
            << std::fixed << std::setprecision(3) << 2.5;
  std::cout << "iostream " << formatted.str() << std::endl;

  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "[%5.2f|%-4d|%x|%s]", 3.14159, 42, 255, "str");
  std::printf("snprintf %s\n", buffer);
  std::fprintf(stdout, "fprintf %05d\n", 42);
  std::puts("puts line");
  std::fputs("fputs line\n", stdout);
  std::putchar('!');
  std::putchar('\n');
  std::printf("runs=%d\n", runs);
  return 0;
}
