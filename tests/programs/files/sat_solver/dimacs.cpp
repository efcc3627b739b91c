#include "dimacs.h"

#include <fstream>
#include <sstream>

bool ReadDimacs(const std::string& path, Formula& formula, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  std::string line;
  std::vector<int> clause;
  size_t declared = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == 'c') continue;
    std::istringstream words(line);
    if (line[0] == 'p') {
      std::string p, cnf;
      words >> p >> cnf >> formula.variables >> declared;
      if (cnf != "cnf") {
        error = "not a CNF problem line: " + line;
        return false;
      }
      continue;
    }
    int literal;
    while (words >> literal) {
      if (literal == 0) {
        formula.clauses.push_back(clause);
        clause.clear();
      } else {
        clause.push_back(literal);
      }
    }
  }
  if (formula.clauses.size() != declared) {
    error = "expected " + std::to_string(declared) + " clauses, found " +
            std::to_string(formula.clauses.size());
    return false;
  }
  return true;
}
