// A tiny DPLL SAT solver with a MiniSat-style command line: solver [-verbosity=N] FILE.cnf
// Prints "s SATISFIABLE" and a model, or "s UNSATISFIABLE"; exits 10 or 20 like MiniSat, 1 on a
// bad input.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dimacs.h"

namespace {

int verbosity = 1;
long decisions = 0;

// 0 unassigned, 1 true, -1 false.
bool Solve(const Formula& formula, std::vector<int>& value) {
  // Unit propagation until nothing changes.
  bool changed = true;
  while (changed) {
    changed = false;
    for (const std::vector<int>& clause : formula.clauses) {
      int unassigned = 0, last = 0;
      bool satisfied = false;
      for (int literal : clause) {
        int v = value[std::abs(literal)];
        if (v == 0) {
          ++unassigned;
          last = literal;
        } else if ((v > 0) == (literal > 0)) {
          satisfied = true;
          break;
        }
      }
      if (satisfied) continue;
      if (unassigned == 0) return false;
      if (unassigned == 1) {
        value[std::abs(last)] = last > 0 ? 1 : -1;
        changed = true;
      }
    }
  }
  for (int variable = 1; variable <= formula.variables; ++variable) {
    if (value[variable] != 0) continue;
    ++decisions;
    for (int choice : {1, -1}) {
      std::vector<int> trial = value;
      trial[variable] = choice;
      if (Solve(formula, trial)) {
        value = trial;
        return true;
      }
    }
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "-verbosity=", 11) == 0) {
      verbosity = std::atoi(argv[i] + 11);
    } else {
      path = argv[i];
    }
  }
  if (path == nullptr) {
    std::fprintf(stderr, "usage: solver [-verbosity=N] FILE.cnf\n");
    return 1;
  }
  Formula formula;
  std::string error;
  if (!ReadDimacs(path, formula, error)) {
    std::fprintf(stderr, "solver: %s\n", error.c_str());
    return 1;
  }
  if (verbosity > 0) {
    std::printf("c %d variables, %zu clauses\n", formula.variables, formula.clauses.size());
  }
  std::vector<int> value(formula.variables + 1, 0);
  const bool satisfiable = Solve(formula, value);
  if (verbosity > 0) std::printf("c %ld decisions\n", decisions);
  if (!satisfiable) {
    std::printf("s UNSATISFIABLE\n");
    return 20;
  }
  std::printf("s SATISFIABLE\nv");
  for (int variable = 1; variable <= formula.variables; ++variable) {
    std::printf(" %d", value[variable] >= 0 ? variable : -variable);
  }
  std::printf(" 0\n");
  return 10;
}
