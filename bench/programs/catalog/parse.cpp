#include <sstream>

#include "catalog.h"

// One book per line: title;author;year;price
std::vector<Book> ParseCatalog(const std::string& text) {
  std::vector<Book> books;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    Book book;
    std::string year, price;
    if (std::getline(fields, book.title, ';') && std::getline(fields, book.author, ';') &&
        std::getline(fields, year, ';') && std::getline(fields, price)) {
      book.year = std::stoi(year);
      book.price = std::stod(price);
      books.push_back(book);
    }
  }
  return books;
}
