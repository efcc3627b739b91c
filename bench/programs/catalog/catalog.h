// A book catalogue in four translation units: how a small C++ project is laid out, for
// rexec-send's cold compile of several sources (bench/run, section 1).
#pragma once

#include <map>
#include <string>
#include <vector>

struct Book {
  std::string title;
  std::string author;
  int year = 0;
  double price = 0;
};

std::vector<Book> ParseCatalog(const std::string& text);
std::map<std::string, std::vector<const Book*>> ByAuthor(const std::vector<Book>& books);
std::string Report(const std::map<std::string, std::vector<const Book*>>& authors);
double MedianPrice(std::vector<Book> books);
