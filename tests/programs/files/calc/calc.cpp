// A small interpreter that runs a script file: calc SCRIPT [NAME=VALUE...]
//
//   let NAME = EXPR        integer arithmetic: + - * / % and parentheses, names, numbers
//   print EXPR [, EXPR...]
//   include "FILE"         runs another script (path relative to the working directory)
//   exit EXPR              ends with that exit code
// Lines starting with # are comments. An error names the file and line, and exits 2.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

std::map<std::string, long> variables;

struct Error {
  std::string message;
};

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  long Expression() {
    long value = Term();
    while (Skip(), pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
      char op = text_[pos_++];
      long right = Term();
      value = op == '+' ? value + right : value - right;
    }
    return value;
  }

  bool AtEnd() {
    Skip();
    return pos_ >= text_.size();
  }
  bool Eat(char c) {
    Skip();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

 private:
  void Skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  long Term() {
    long value = Factor();
    while (Skip(), pos_ < text_.size() && std::strchr("*/%", text_[pos_]) != nullptr) {
      char op = text_[pos_++];
      long right = Factor();
      if ((op == '/' || op == '%') && right == 0) throw Error{"division by zero"};
      value = op == '*' ? value * right : op == '/' ? value / right : value % right;
    }
    return value;
  }

  long Factor() {
    Skip();
    if (Eat('(')) {
      long value = Expression();
      if (!Eat(')')) throw Error{"missing )"};
      return value;
    }
    if (Eat('-')) return -Factor();
    size_t start = pos_;
    if (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      return std::stol(text_.substr(start, pos_ - start));
    }
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    std::string name = text_.substr(start, pos_ - start);
    if (name.empty()) throw Error{"expected a value"};
    auto found = variables.find(name);
    if (found == variables.end()) throw Error{"unknown name " + name};
    return found->second;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

void Run(const std::string& path, int depth);

void Execute(const std::string& line) {
  std::istringstream words(line);
  std::string keyword;
  words >> keyword;
  std::string rest;
  std::getline(words, rest);
  if (keyword == "let") {
    size_t equals = rest.find('=');
    if (equals == std::string::npos) throw Error{"let needs ="};
    std::istringstream name_stream(rest.substr(0, equals));
    std::string name;
    name_stream >> name;
    std::string expression = rest.substr(equals + 1);
    variables[name] = Parser(expression).Expression();
  } else if (keyword == "print") {
    Parser parser(rest);
    const char* separator = "";
    do {
      std::printf("%s%ld", separator, parser.Expression());
      separator = " ";
    } while (parser.Eat(','));
    std::printf("\n");
  } else if (keyword == "exit") {
    std::exit(static_cast<int>(Parser(rest).Expression()));
  } else {
    throw Error{"unknown statement " + keyword};
  }
}

void Run(const std::string& path, int depth) {
  if (depth > 16) throw Error{"includes nest too deeply"};
  std::ifstream in(path);
  if (!in) throw Error{"cannot open " + path};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    try {
      if (line.compare(first, 8, "include ") == 0) {
        size_t open = line.find('"'), close = line.rfind('"');
        if (open == std::string::npos || close <= open) throw Error{"include needs \"FILE\""};
        Run(line.substr(open + 1, close - open - 1), depth + 1);
      } else {
        Execute(line.substr(first));
      }
    } catch (const Error& error) {
      if (error.message.find(':') != std::string::npos) throw;
      throw Error{path + ":" + std::to_string(number) + ": " + error.message};
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: calc SCRIPT [NAME=VALUE...]\n");
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    std::string assignment = argv[i];
    size_t equals = assignment.find('=');
    if (equals != std::string::npos) {
      variables[assignment.substr(0, equals)] = std::stol(assignment.substr(equals + 1));
    }
  }
  try {
    Run(argv[1], 0);
  } catch (const Error& error) {
    std::fflush(stdout);
    std::fprintf(stderr, "calc: %s\n", error.message.c_str());
    return 2;
  }
  return 0;
}
