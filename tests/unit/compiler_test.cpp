#include "compiler/compiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

absl::StatusOr<Module> Compile(std::vector<std::string> sources,
                               std::vector<std::string> flags = {},
                               std::string* diagnostics = nullptr) {
  std::string ignored;
  return CompileToBitcode({std::move(sources), std::move(flags), "", false, ""},
                          diagnostics != nullptr ? *diagnostics : ignored);
}

TEST(CompilerTest, CompilesAProgramToBitcodeNamedByItsHash) {
  TempDir dir;
  auto module = Compile({dir.Write("main.cpp", "#include <cstdio>\nint main() { puts(\"hi\"); }\n")},
                        {"-O2"});
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_TRUE(module->has_main);
  EXPECT_EQ(module->bitcode.substr(0, 2), "BC");  // the bitcode magic
  EXPECT_EQ(module->hash, ContentHash::Of(module->bitcode));
}

TEST(CompilerTest, SameSourceAndFlagsGiveTheSameModule) {
  TempDir dir;
  std::string source = dir.Write("a.cpp", "#ifdef X\nint main() { return 4; }\n#else\n"
                                          "int main() { return 3; }\n#endif\n");
  auto first = Compile({source}, {"-O1"});
  auto second = Compile({source}, {"-O1"});
  auto other = Compile({source}, {"-O1", "-DX"});
  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  EXPECT_EQ(first->hash, second->hash);
  EXPECT_NE(first->hash, other->hash);
}

TEST(CompilerTest, LinksSeveralSourcesAndCompilesDotCAsC) {
  TempDir dir;
  // `class` is a keyword in C++: this only compiles as C.
  std::string c_file = dir.Write("util.c", "int twice(int class) { return 2 * class; }\n");
  std::string cpp_file = dir.Write(
      "main.cpp", "extern \"C\" int twice(int);\nint main() { return twice(N); }\n");
  auto module = Compile({cpp_file, c_file}, {"-DN=21"});
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_TRUE(module->has_main);
}

// Several sources compile at once (one thread each, up to the cores); what comes out must not
// depend on which finished first.
TEST(CompilerTest, SeveralSourcesGiveTheSameModuleEveryTime) {
  TempDir dir;
  std::vector<std::string> sources;
  for (int i = 0; i < 4; ++i) {
    sources.push_back(dir.Write("part" + std::to_string(i) + ".cpp",
                                "#include <string>\nstd::string part" + std::to_string(i) +
                                    "() { return \"" + std::to_string(i) + "\"; }\n"));
  }
  sources.push_back(dir.Write("main.cpp", "int main() { return 0; }\n"));
  auto first = Compile(sources, {"-O1"});
  auto second = Compile(sources, {"-O1"});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->hash, second->hash);
}

TEST(CompilerTest, ErrorsInSeveralSourcesAreAllReportedInTheirOrder) {
  TempDir dir;
  std::string diagnostics;
  auto module = Compile({dir.Write("first.cpp", "int f() { return undeclared_one; }\n"),
                         dir.Write("fine.cpp", "int main() { return 0; }\n"),
                         dir.Write("second.cpp", "int g() { return undeclared_two; }\n")},
                        {}, &diagnostics);
  EXPECT_FALSE(module.ok());
  size_t one = diagnostics.find("first.cpp:1:18: error: use of undeclared identifier 'undeclared_one'");
  size_t two = diagnostics.find("second.cpp:1:18: error: use of undeclared identifier 'undeclared_two'");
  ASSERT_NE(one, std::string::npos) << diagnostics;
  ASSERT_NE(two, std::string::npos) << diagnostics;
  EXPECT_LT(one, two) << diagnostics;
}

TEST(CompilerTest, HonoursIncludeDirectories) {
  TempDir dir;
  dir.Write("inc/value.h", "#define VALUE 7\n");
  auto module = Compile({dir.Write("main.cpp", "#include \"value.h\"\nint main() { return VALUE; }\n")},
                        {"-I", (dir.path() / "inc").string()});
  EXPECT_TRUE(module.ok()) << module.status();
}

TEST(CompilerTest, CompileErrorsCarryClangDiagnosticsWithPositions) {
  TempDir dir;
  std::string source = dir.Write("bad.cpp", "int main() {\n  return undefined_name;\n}\n");
  std::string diagnostics;
  auto module = Compile({source}, {}, &diagnostics);
  EXPECT_EQ(module.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(diagnostics, HasSubstr("bad.cpp:2:10: error: use of undeclared identifier"));
  EXPECT_THAT(diagnostics, HasSubstr("1 error generated."));
}

TEST(CompilerTest, WarningsAreReportedOnSuccess) {
  TempDir dir;
  std::string diagnostics;
  auto module = Compile({dir.Write("w.cpp", "int main() { int unused; return 0; }\n")}, {"-Wall"},
                        &diagnostics);
  ASSERT_TRUE(module.ok());
  EXPECT_THAT(diagnostics, HasSubstr("warning: unused variable"));
}

TEST(CompilerTest, MissingSourceAndBadFlagsAreClearErrors) {
  std::string diagnostics;
  auto missing = Compile({"/nonexistent/x.cpp"}, {}, &diagnostics);
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(diagnostics, HasSubstr("no such file"));
  auto flag = Compile({"/nonexistent/x.cpp"}, {"-march=native"});
  EXPECT_EQ(flag.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(flag.status().message()), HasSubstr("-march=native"));
}

TEST(CompilerTest, DuplicateDefinitionsAcrossSourcesFailToLink) {
  TempDir dir;
  auto module = Compile({dir.Write("a.cpp", "int f() { return 1; }\nint main() { return f(); }\n"),
                         dir.Write("b.cpp", "int f() { return 2; }\n")});
  EXPECT_EQ(module.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(module.status().message()), HasSubstr("_Z1fv"));
}

TEST(CompilerTest, OptimizesForTheTargetLikeTheClangBinary) {
  // With no target registered, clang's pipeline has no cost model: this sqrt stayed a libm
  // call instead of becoming the llvm.sqrt intrinsic (one instruction) as clang++ -O2 makes it.
  TempDir dir;
  auto module = Compile({dir.Write("s.cpp", "#include <cmath>\n"
                                            "double f(double x) { return std::sqrt(x * x + 1); }\n")},
                        {"-O2"});
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_NE(module->bitcode.find("llvm.sqrt.f64"), std::string::npos);
}

TEST(CompilerTest, InspectReadsBackWhatCompileFound) {
  TempDir dir;
  auto module = Compile({dir.Write("m.cpp", "int main() { return 0; }\n")});
  ASSERT_TRUE(module.ok());
  auto inspected = InspectBitcode(module->bitcode);
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  EXPECT_EQ(inspected->hash, module->hash);
  EXPECT_TRUE(inspected->has_main);
  EXPECT_FALSE(InspectBitcode("not bitcode").ok());
}

}  // namespace
}  // namespace rexec
