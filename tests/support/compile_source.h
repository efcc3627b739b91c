// Compiles one C++ source text to a module for tests of the worker side.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {

inline Module CompileSource(const std::string& source, std::vector<std::string> flags = {"-O1"},
                            const std::string& name = "test.cpp") {
  TempDir dir;
  std::string diagnostics;
  absl::StatusOr<Module> module =
      CompileToBitcode({{dir.Write(name, source)}, std::move(flags), "", false, ""}, diagnostics);
  EXPECT_TRUE(module.ok()) << module.status() << "\n" << diagnostics;
  return module.ok() ? *std::move(module) : Module{};
}

}  // namespace rexec::testing
