// The install rules and the CMake package: install rexec to a temporary prefix, then configure,
// build and run tests/package/consumer, a project that only knows find_package(rexec).
#include <gtest/gtest.h>

#include "tests/integration/subprocess.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

TEST(PackageTest, AnotherProjectBuildsAgainstTheInstalledPackage) {
  TempDir dir;
  std::string prefix = (dir.path() / "prefix").string();
  std::string build = (dir.path() / "consumer-build").string();
  ProcessOptions slow;
  slow.timeout = milliseconds(240'000);

  ProcessResult install =
      RunProcess({REXEC_CMAKE, "--install", REXEC_BUILD_DIR, "--prefix", prefix}, slow);
  ASSERT_EQ(install.exit_code, 0) << install;
  ProcessResult configure = RunProcess({REXEC_CMAKE, "-S", REXEC_CONSUMER_DIR, "-B", build, "-G",
                                        "Ninja", "-DCMAKE_PREFIX_PATH=" + prefix},
                                       slow);
  ASSERT_EQ(configure.exit_code, 0) << configure;
  ProcessResult compiled = RunProcess({REXEC_CMAKE, "--build", build}, slow);
  ASSERT_EQ(compiled.exit_code, 0) << compiled;

  ProcessOptions run;
  run.env = {{"XDG_CACHE_HOME", (dir.path() / "cache").string()}};
  ProcessResult result = RunProcess({build + "/app"}, run);
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "42\n") << result;
}

}  // namespace
}  // namespace rexec::testing
