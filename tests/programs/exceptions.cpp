// C++ exceptions thrown and caught: across JIT-compiled frames, from libstdc++ into JIT code,
// rethrown, and with destructors run during unwinding.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

int throws_caught = 0;

struct AppError : std::runtime_error {
  int code;
  AppError(const std::string& what, int code) : std::runtime_error(what), code(code) {}
};

struct Guard {
  const char* name;
  ~Guard() { std::printf("unwound %s\n", name); }
};

void Deep(int depth) {
  Guard guard{depth == 0 ? "innermost" : "outer"};
  if (depth == 0) throw AppError("thrown from depth", 7);
  Deep(depth - 1);
}

int main() {
  try {
    Deep(1);
  } catch (const std::runtime_error& e) {
    ++throws_caught;
    std::printf("caught by base: %s (code %d)\n", e.what(), dynamic_cast<const AppError&>(e).code);
  }
  try {
    std::vector<int> v(3);
    v.at(10);
  } catch (const std::out_of_range&) {
    ++throws_caught;
    std::printf("caught out_of_range from libstdc++\n");
  }
  try {
    (void)std::stoi("not a number");
  } catch (const std::invalid_argument& e) {
    ++throws_caught;
    std::printf("caught invalid_argument from %s\n", e.what());
  }
  try {
    try {
      throw 42;
    } catch (...) {
      std::printf("rethrowing\n");
      throw;
    }
  } catch (int value) {
    ++throws_caught;
    std::printf("caught rethrown int %d\n", value);
  }
  std::printf("throws_caught=%d\n", throws_caught);
  return 0;
}
