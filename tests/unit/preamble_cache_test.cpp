// Precompiled preambles (compiler/preamble_cache.h): a compile that loads a PCH for its preamble
// must make the very module a compile without one makes, and never a stale one.
#include "compiler/preamble_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "compiler/compiler.h"
#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using testing::TempDir;

// Any #include makes a preamble worth a PCH, so a tiny header keeps the tests fast.
constexpr char kPreamble[] = "#include \"value.h\"\n";
constexpr char kBody[] = "int value() { return VALUE + %d; }\nint main() { return value(); }\n";

class PreambleCacheTest : public ::testing::Test {
 protected:
  PreambleCacheTest() {
    dir_.Write("inc/value.h", "#define VALUE 1\n");
    preambles_ = (dir_.path() / "preambles").string();
  }

  std::string Source(int edit, std::string_view preamble = kPreamble,
                     std::string_view epilogue = "") {
    char body[sizeof(kBody) + 16];
    std::snprintf(body, sizeof(body), kBody, edit);
    return dir_.Write("main.cpp", std::string(preamble) + body + std::string(epilogue));
  }

  CompileOptions Options(bool with_preambles) const {
    return {{(dir_.path() / "main.cpp").string()},
            {"-O2", "-I", (dir_.path() / "inc").string()},
            "",
            false,
            with_preambles ? preambles_ : ""};
  }

  // The module main.cpp compiles to now, with the preamble cache or without it.
  absl::StatusOr<Module> Compile(bool with_preambles, std::string* diagnostics = nullptr,
                                 std::vector<std::string>* inputs = nullptr) {
    std::string ignored;
    return CompileToBitcode(Options(with_preambles), diagnostics ? *diagnostics : ignored, inputs);
  }

  std::filesystem::path Pch() const {
    for (const auto& entry : std::filesystem::directory_iterator(preambles_)) {
      if (entry.path().extension() == ".pch") return entry.path();
    }
    return {};
  }

  // Compiles twice (the second miss starts the background build) and waits for the PCH.
  std::filesystem::path BuildPch(std::string_view preamble = kPreamble,
                                 std::string_view epilogue = "") {
    for (int edit = 1; edit <= 2; ++edit) {
      Source(edit, preamble, epilogue);
      EXPECT_TRUE(Compile(true).ok());
      if (edit == 1) {
        EXPECT_TRUE(Pch().empty()) << "a PCH after a single compile";
      }
    }
    for (int i = 0; i < 600 && Pch().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Pch();
  }

  // Expects `compiled` (with preambles) to be the module main.cpp makes without them.
  void ExpectSameModuleAsWithoutPreambles(const Module& compiled) {
    absl::StatusOr<Module> expected = Compile(false);
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(compiled.hash, expected->hash);
  }

  // Marks `path` as last used an hour ago, to tell whether a compile uses it.
  static void Age(const std::filesystem::path& path) {
    const time_t hour_ago = time(nullptr) - 3600;
    struct utimbuf times{hour_ago, hour_ago};
    ASSERT_EQ(utime(path.c_str(), &times), 0);
  }
  static bool UsedInTheLastMinute(const std::filesystem::path& path) {
    struct stat info;
    return stat(path.c_str(), &info) == 0 && info.st_mtime > time(nullptr) - 60;
  }

  TempDir dir_;
  std::string preambles_;
};

TEST_F(PreambleCacheTest, APchIsBuiltAtTheSecondMissAndMakesTheSameModule) {
  const std::filesystem::path pch = BuildPch();
  ASSERT_FALSE(pch.empty()) << "no PCH built in 60 s";
  Age(pch);

  Source(3);
  std::vector<std::string> inputs;
  absl::StatusOr<Module> with_pch = Compile(true, nullptr, &inputs);
  ASSERT_TRUE(with_pch.ok()) << with_pch.status();
  EXPECT_TRUE(UsedInTheLastMinute(pch)) << "the compile did not use the PCH";
  ExpectSameModuleAsWithoutPreambles(*with_pch);
  // The bitcode cache learns what the preamble read from the PCH, never the PCH itself.
  EXPECT_NE(std::find(inputs.begin(), inputs.end(), (dir_.path() / "inc/value.h").string()),
            inputs.end());
  EXPECT_EQ(std::find(inputs.begin(), inputs.end(), pch.string()), inputs.end());
}

TEST_F(PreambleCacheTest, AChangedPreambleHeaderIsReadAgainNotTakenFromThePch) {
  const std::filesystem::path pch = BuildPch();
  ASSERT_FALSE(pch.empty()) << "no PCH built in 60 s";
  const std::string header = dir_.Write("inc/value.h", "#define VALUE 7\n");  // same size
  Age(header);  // a new modification time, however fast the file system's clock
  Age(pch);
  struct stat old_pch;
  ASSERT_EQ(stat(pch.c_str(), &old_pch), 0);

  Source(3);
  absl::StatusOr<Module> compiled = Compile(true);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  // The miss starts a rebuild, which may already have replaced the file (a new inode): only
  // the old file touched by this compile would mean it was used.
  struct stat now;
  EXPECT_FALSE(stat(pch.c_str(), &now) == 0 && now.st_ino == old_pch.st_ino &&
               UsedInTheLastMinute(pch))
      << "a PCH of the old header was used";
  ExpectSameModuleAsWithoutPreambles(*compiled);
}

TEST_F(PreambleCacheTest, AnUnreadablePchIsDroppedAndTheSourceStillCompiles) {
  const std::filesystem::path pch = BuildPch();
  ASSERT_FALSE(pch.empty()) << "no PCH built in 60 s";
  std::filesystem::resize_file(pch, 1000);  // cut short; its listing still matches

  Source(3);
  std::string diagnostics;
  absl::StatusOr<Module> compiled = Compile(true, &diagnostics);
  ASSERT_TRUE(compiled.ok()) << compiled.status() << diagnostics;
  EXPECT_EQ(diagnostics, "") << "the failed attempt with the PCH leaked its diagnostics";
  ExpectSameModuleAsWithoutPreambles(*compiled);
}

TEST_F(PreambleCacheTest, AnErrorAfterThePreambleIsReportedAtItsPlace) {
  const std::filesystem::path pch = BuildPch();
  ASSERT_FALSE(pch.empty()) << "no PCH built in 60 s";
  dir_.Write("main.cpp", "#include \"value.h\"\nint main() { return VALUE + undefined_name; }\n");
  std::string diagnostics;
  absl::StatusOr<Module> compiled = Compile(true, &diagnostics);
  EXPECT_FALSE(compiled.ok());
  EXPECT_NE(diagnostics.find("main.cpp:2:"), std::string::npos) << diagnostics;
  EXPECT_NE(diagnostics.find("undefined_name"), std::string::npos) << diagnostics;
  EXPECT_TRUE(std::filesystem::exists(pch)) << "a user's error cost the PCH";
}

// clang's preamble may end inside an #if (an include guard around the whole source): the PCH
// carries the open conditional, and the rest of the source closes it.
TEST_F(PreambleCacheTest, APreambleEndingInsideAnIfWorks) {
  constexpr char kGuarded[] = "#ifndef MAIN_GUARD\n#define MAIN_GUARD\n#include \"value.h\"\n";
  const std::filesystem::path pch = BuildPch(kGuarded, "#endif\n");
  ASSERT_FALSE(pch.empty()) << "no PCH built in 60 s";
  dir_.Write("main.cpp", std::string(kGuarded) + "int main() { return VALUE; }\n#endif\n");
  Age(pch);
  std::string diagnostics;
  absl::StatusOr<Module> compiled = Compile(true, &diagnostics);
  ASSERT_TRUE(compiled.ok()) << compiled.status() << diagnostics;
  EXPECT_TRUE(UsedInTheLastMinute(pch));
  ExpectSameModuleAsWithoutPreambles(*compiled);
}

}  // namespace
}  // namespace rexec
