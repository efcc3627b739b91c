// compiler/link_inputs.h: how a command line's sources and flags become sources, clang flags and
// libraries, and where each -lNAME is found.
#include "compiler/link_inputs.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using testing::TempDir;

TEST(LinkInputsTest, SortsSourcesFlagsAndFiles) {
  TempDir dir;
  const std::string archive = dir.Write("libgeom.a", "!<arch>\n");
  const std::string object = dir.Write("helpers.o", "object bytes");
  absl::StatusOr<LinkInputs> inputs = GatherLinkInputs(
      {"main.cpp", archive, "extra.bc", object, "util.c"}, {"-O2", "-I", "inc", "-DX=1"});
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_EQ(inputs->sources, (std::vector<std::string>{"main.cpp", "extra.bc", "util.c"}));
  EXPECT_EQ(inputs->flags, (std::vector<std::string>{"-O2", "-I", "inc", "-DX=1"}));
  ASSERT_EQ(inputs->libraries.size(), 2u);
  EXPECT_EQ(inputs->libraries[0].kind, Library::Kind::kArchive);
  EXPECT_EQ(inputs->libraries[0].name, "libgeom.a");
  EXPECT_EQ(inputs->libraries[0].bytes, "!<arch>\n");
  EXPECT_EQ(inputs->libraries[0].hash, ContentHash::Of("!<arch>\n"));
  EXPECT_EQ(inputs->libraries[1].kind, Library::Kind::kObject);
  EXPECT_EQ(inputs->libraries[1].name, "helpers.o");
}

TEST(LinkInputsTest, NameFoundInSearchDirectoryIsShippedWhereverTheDirectoryIsGiven) {
  TempDir dir;
  dir.Write("lib/libgeom.a", "archive");
  const std::string lib = (dir.path() / "lib").string();
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"-lgeom", "-L" + lib}, {"-L", lib, "-l", "geom"}}) {
    absl::StatusOr<LinkInputs> inputs = GatherLinkInputs({"main.cpp"}, flags);
    ASSERT_TRUE(inputs.ok()) << inputs.status();
    EXPECT_TRUE(inputs->flags.empty());
    ASSERT_EQ(inputs->libraries.size(), 1u);
    EXPECT_EQ(inputs->libraries[0].kind, Library::Kind::kArchive);
    EXPECT_EQ(inputs->libraries[0].bytes, "archive");
  }
}

TEST(LinkInputsTest, RuntimeLibrariesNeedNothing) {
  absl::StatusOr<LinkInputs> inputs =
      GatherLinkInputs({"main.cpp"}, {"-lm", "-lpthread", "-lstdc++", "-ldl", "-lrt"});
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_TRUE(inputs->libraries.empty());
  EXPECT_TRUE(inputs->flags.empty());
}

TEST(LinkInputsTest, NameFoundNowhereHereIsLeftToTheWorker) {
  absl::StatusOr<LinkInputs> inputs = GatherLinkInputs({"main.cpp"}, {"-lrexec_nowhere"});
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->libraries.size(), 1u);
  EXPECT_EQ(inputs->libraries[0].kind, Library::Kind::kSystem);
  EXPECT_EQ(inputs->libraries[0].name, "rexec_nowhere");
  EXPECT_TRUE(inputs->libraries[0].bytes.empty());
}

TEST(LinkInputsTest, SystemSharedLibraryIsTheWorkersNotShipped) {
  // zlib1g-dev (scripts/setup.sh) installs both libz.so and libz.a in one system directory: as
  // ld would, the shared one wins, and it is the worker's to load.
  absl::StatusOr<LinkInputs> inputs = GatherLinkInputs({"main.cpp"}, {"-lz"});
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->libraries.size(), 1u);
  EXPECT_EQ(inputs->libraries[0].kind, Library::Kind::kSystem);
  EXPECT_EQ(inputs->libraries[0].name, "z");
}

TEST(LinkInputsTest, RefusesWhatCannotBeShipped) {
  EXPECT_FALSE(GatherLinkInputs({"main.cpp"}, {"-l../../etc/passwd"}).ok());
  EXPECT_FALSE(GatherLinkInputs({"main.cpp"}, {"-l"}).ok());
  EXPECT_FALSE(GatherLinkInputs({"main.cpp", "/nonexistent/libx.a"}, {}).ok());
}

}  // namespace
}  // namespace rexec
