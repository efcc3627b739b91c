#include <iomanip>
#include <sstream>

#include "catalog.h"

std::string Report(const std::map<std::string, std::vector<const Book*>>& authors) {
  std::ostringstream out;
  for (const auto& [author, books] : authors) {
    out << author << " (" << books.size() << ")\n";
    for (const Book* book : books) {
      out << "  " << book->year << "  " << std::left << std::setw(28) << book->title
          << std::right << std::fixed << std::setprecision(2) << std::setw(8) << book->price
          << "\n";
    }
  }
  return out.str();
}
