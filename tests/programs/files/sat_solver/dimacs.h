// A CNF formula as DIMACS files give it.
#pragma once

#include <string>
#include <vector>

struct Formula {
  int variables = 0;
  std::vector<std::vector<int>> clauses;
};

// Reads `path`; false (with `error` set) when it cannot be read or is not DIMACS CNF.
bool ReadDimacs(const std::string& path, Formula& formula, std::string& error);
