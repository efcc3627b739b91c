#include <iostream>

#include "catalog.h"

int main() {
  const std::string text =
      "Dune;Frank Herbert;1965;9.99\n"
      "Children of Dune;Frank Herbert;1976;8.49\n"
      "Dune Messiah;Frank Herbert;1969;7.99\n"
      "The Left Hand of Darkness;Ursula K. Le Guin;1969;10.50\n"
      "The Dispossessed;Ursula K. Le Guin;1974;11.25\n"
      "Neuromancer;William Gibson;1984;9.15\n";
  std::vector<Book> books = ParseCatalog(text);
  std::cout << Report(ByAuthor(books));
  std::cout << "median price " << MedianPrice(books) << "\n";
  return 0;
}
