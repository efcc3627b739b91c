#include "compiler/bitcode_cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using testing::TempDir;

class BitcodeCacheTest : public ::testing::Test {
 protected:
  BitcodeCacheTest() : cache_(dir_.path() / "cache") {
    header_ = dir_.Write("inc/value.h", "#define VALUE 1\n");
    source_ = dir_.Write("main.cpp", "#include \"value.h\"\nint main() { return VALUE; }\n");
    options_ = {{source_}, {"-I", (dir_.path() / "inc").string()}, "", false};
  }

  // Compiles on a miss, as Client::Compile does; returns the module and whether it was a hit.
  std::pair<Module, bool> Compile() {
    std::string diagnostics;
    if (std::optional<Module> cached = cache_.Lookup(options_, diagnostics)) return {*cached, true};
    std::vector<std::string> inputs;
    absl::StatusOr<Module> module = CompileToBitcode(options_, diagnostics, &inputs);
    EXPECT_TRUE(module.ok()) << module.status() << diagnostics;
    cache_.Store(options_, *module, diagnostics, inputs);
    return {*module, false};
  }

  TempDir dir_;
  BitcodeCache cache_;
  std::string header_;
  std::string source_;
  CompileOptions options_;
};

TEST_F(BitcodeCacheTest, SecondCompileIsAHitWithTheSameModule) {
  auto [cold, cold_hit] = Compile();
  auto [warm, warm_hit] = Compile();
  EXPECT_FALSE(cold_hit);
  EXPECT_TRUE(warm_hit);
  EXPECT_EQ(warm.hash, cold.hash);
  EXPECT_EQ(warm.bitcode, cold.bitcode);
  EXPECT_TRUE(warm.has_main);
}

// A hit describes the module without reading its bitcode (that would take LLVM): the entry points
// come from the manifest, and must be the compiler's.
TEST_F(BitcodeCacheTest, AHitKeepsTheModulesCommandsAndMain) {
  source_ = dir_.Write("commands.cpp", R"(#include "rexec/command.h"
#include <string>
#include <vector>
struct Sum { std::vector<double> xs; double total = 0; std::string note;
  int main() { for (double x : xs) total += x; return 0; }
  REXEC_FIELDS(xs, total, note) };
REXEC_COMMAND(Sum)
struct Nothing { int flag = 0; int main() { return 0; } REXEC_FIELDS(flag) };
REXEC_COMMAND(Nothing)
)");
  options_.sources = {source_};
  options_.flags.push_back("-I" REXEC_INCLUDE_DIR);
  auto [cold, cold_hit] = Compile();
  auto [warm, warm_hit] = Compile();
  ASSERT_FALSE(cold_hit);
  ASSERT_TRUE(warm_hit);
  ASSERT_EQ(cold.commands.size(), 2u);
  ASSERT_EQ(warm.commands.size(), cold.commands.size());
  for (size_t i = 0; i < cold.commands.size(); ++i) {
    EXPECT_EQ(warm.commands[i].name, cold.commands[i].name);
    EXPECT_EQ(warm.commands[i].descriptor, cold.commands[i].descriptor);
  }
  EXPECT_FALSE(warm.has_main);
  EXPECT_EQ(warm.has_main, cold.has_main);
}

TEST_F(BitcodeCacheTest, EditingAnIncludedHeaderMisses) {
  auto [before, ignored] = Compile();
  dir_.Write("inc/value.h", "#define VALUE 2\n");
  auto [after, hit] = Compile();
  EXPECT_FALSE(hit);
  EXPECT_NE(after.hash, before.hash);
  // Both header states stay cached.
  dir_.Write("inc/value.h", "#define VALUE 1\n");
  auto [again, hit_again] = Compile();
  EXPECT_TRUE(hit_again);
  EXPECT_EQ(again.hash, before.hash);
}

TEST_F(BitcodeCacheTest, TouchingAHeaderWithoutChangingItStillHits) {
  Compile();
  std::filesystem::last_write_time(header_, std::filesystem::file_time_type::clock::now() +
                                                std::chrono::hours(1));
  EXPECT_TRUE(Compile().second);
}

TEST_F(BitcodeCacheTest, AHeaderCreatedWhereTheIncludeWouldNowFindItMisses) {
  auto [before, ignored] = Compile();
  // Next to the source: "value.h" is found there before the -I directory.
  dir_.Write("value.h", "#define VALUE 50\n");
  auto [after, hit] = Compile();
  EXPECT_FALSE(hit);
  EXPECT_NE(after.hash, before.hash);
}

TEST_F(BitcodeCacheTest, FlagsAndSourcesArePartOfTheKey) {
  Compile();
  options_.flags.push_back("-O2");
  EXPECT_FALSE(Compile().second);
  dir_.Write("main.cpp", "#include \"value.h\"\nint main() { return VALUE + 1; }\n");
  EXPECT_FALSE(Compile().second);
}

TEST_F(BitcodeCacheTest, WarningsAreReplayedOnAHit) {
  dir_.Write("main.cpp", "int main() { int unused; return 0; }\n");
  options_.flags = {"-Wall"};
  Compile();
  std::string diagnostics;
  ASSERT_TRUE(cache_.Lookup(options_, diagnostics).has_value());
  EXPECT_NE(diagnostics.find("unused variable"), std::string::npos);
}

TEST_F(BitcodeCacheTest, CorruptedEntriesAreMissesNotErrors) {
  auto [module, ignored] = Compile();
  std::filesystem::path cache = dir_.path() / "cache";
  // A bitcode file that no longer matches its hash.
  {
    std::ofstream(cache / "modules" / module.hash.hex(), std::ios::trunc) << "garbage";
  }
  EXPECT_FALSE(Compile().second);
  EXPECT_TRUE(Compile().second);  // the miss stored a good copy again
  // A manifest that does not parse.
  for (const auto& manifest : std::filesystem::directory_iterator(cache / "manifests")) {
    std::ofstream(manifest.path(), std::ios::trunc) << "rexec-bitcode-manifest-3\nentry x\n";
  }
  EXPECT_FALSE(Compile().second);
  EXPECT_TRUE(Compile().second);
}

}  // namespace
}  // namespace rexec
