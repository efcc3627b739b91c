#include <algorithm>

#include "catalog.h"

std::map<std::string, std::vector<const Book*>> ByAuthor(const std::vector<Book>& books) {
  std::map<std::string, std::vector<const Book*>> authors;
  for (const Book& book : books) authors[book.author].push_back(&book);
  for (auto& [author, list] : authors) {
    std::sort(list.begin(), list.end(), [](const Book* a, const Book* b) { return a->year < b->year; });
  }
  return authors;
}

double MedianPrice(std::vector<Book> books) {
  if (books.empty()) return 0;
  std::nth_element(books.begin(), books.begin() + books.size() / 2, books.end(),
                   [](const Book& a, const Book& b) { return a.price < b.price; });
  return books[books.size() / 2].price;
}
