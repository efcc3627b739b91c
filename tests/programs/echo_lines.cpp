// Answers each line of stdin as it arrives, the way an interactive program does.
#include <iostream>
#include <string>

int main() {
  std::string line;
  int lines = 0;
  while (std::getline(std::cin, line)) {
    ++lines;
    std::cout << "echo: " << line << "\n";
  }
  std::cout << "end of input after " << lines << " line(s)\n";
  return 0;
}
