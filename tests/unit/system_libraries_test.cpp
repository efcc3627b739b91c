// core/system_libraries.h: library names, and finding the system's own shared libraries.
#include "core/system_libraries.h"

#include <gtest/gtest.h>

namespace rexec {
namespace {

TEST(SystemLibrariesTest, RuntimeLibraryNames) {
  for (const char* name : {"c", "m", "pthread", "stdc++", "dl", "rt", "util", "gcc_s"}) {
    EXPECT_TRUE(IsRuntimeLibraryName(name)) << name;
  }
  EXPECT_FALSE(IsRuntimeLibraryName("z"));
  EXPECT_FALSE(IsRuntimeLibraryName("mm"));
}

TEST(SystemLibrariesTest, NamesCanOnlyNameAFileInADirectory) {
  EXPECT_TRUE(IsValidLibraryName("z"));
  EXPECT_TRUE(IsValidLibraryName("stdc++"));
  EXPECT_TRUE(IsValidLibraryName("boost_program_options-mt.1"));
  EXPECT_FALSE(IsValidLibraryName(""));
  EXPECT_FALSE(IsValidLibraryName("../etc/x"));
  EXPECT_FALSE(IsValidLibraryName("a/b"));
  EXPECT_FALSE(IsValidLibraryName(".hidden"));
  EXPECT_FALSE(IsValidLibraryName(":libz.a"));
  EXPECT_FALSE(IsValidLibraryName(std::string(201, 'a')));
}

TEST(SystemLibrariesTest, FindsSharedLibrariesInSystemDirectoriesOnly) {
  std::optional<std::string> zlib = FindSystemSharedLibrary("z");  // zlib1g-dev
  ASSERT_TRUE(zlib.has_value());
  EXPECT_TRUE(zlib->ends_with("/libz.so")) << *zlib;
  EXPECT_FALSE(FindSystemSharedLibrary("rexec_no_such_library").has_value());
  EXPECT_FALSE(FindSystemSharedLibrary("../../lib/x86_64-linux-gnu/libz").has_value());
}

}  // namespace
}  // namespace rexec
