// rexec-send with libraries (issue 9): archives, objects and bitcode shipped from here, -L and
// -l found here, the worker's own shared libraries, the runtime libraries, and each refusal,
// against a worker with its sandbox on and off, which serves on after every one.
//
// The archives and objects are built when the suite starts, with LLVM's clang and llvm-ar from
// tests/programs/libraries/, among them machine code for another architecture.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/redis_server.h"
#include "tests/integration/send_command.h"
#include "tests/integration/shared_worker_test.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;

std::string Source(const std::string& name) { return ProgramPath("libraries/" + name); }

// The libraries the tests link, built once.
class Fixtures {
 public:
  Fixtures() {
    const std::filesystem::path& dir = dir_.path();
    std::filesystem::create_directories(dir / "lib");
    std::filesystem::create_directories(dir / "biased");
    std::filesystem::create_directories(dir / "arm");
    Run({REXEC_TEST_CLANG, "-O2", "-fPIC", "-c", Source("geom.c"), "-o", Path("geom.o")});
    Run({REXEC_TEST_LLVM_AR, "rcs", Path("lib/libgeom.a"), Path("geom.o")});
    Run({REXEC_TEST_CLANG, "-O2", "-fPIC", "-DGEOM_BIAS=1", "-c", Source("geom.c"), "-o",
         Path("geom_biased.o")});
    Run({REXEC_TEST_LLVM_AR, "rcs", Path("biased/libgeom.a"), Path("geom_biased.o")});
    Run({REXEC_TEST_CLANG, "-O2", "-c", Source("helpers.c"), "-o", Path("helpers.o")});
    Run({REXEC_TEST_CLANG, "-O2", "-c", "-emit-llvm", Source("extra.c"), "-o", Path("extra.bc")});
    Run({REXEC_TEST_CLANG, "--target=aarch64-linux-gnu", "-O2", "-c", Source("helpers.c"), "-o",
         Path("helpers_arm.o")});
    Run({REXEC_TEST_CLANG, "--target=aarch64-linux-gnu", "-O2", "-c", Source("geom.c"), "-o",
         Path("arm/geom.o")});
    Run({REXEC_TEST_LLVM_AR, "rcs", Path("arm/libgeom.a"), Path("arm/geom.o")});
    Run({REXEC_TEST_CLANG, "-O2", "-c", Source("helpers_unresolved.c"), "-o",
         Path("helpers_unresolved.o")});
    Run({REXEC_TEST_CLANGXX, "-O2", "-fPIC", "-c", Source("greeter.cpp"), "-o",
         Path("greeter.o")});
    Run({REXEC_TEST_LLVM_AR, "rcs", Path("lib/libgreeter.a"), Path("greeter.o")});
  }

  bool ok() const { return errors_.empty(); }
  const std::string& errors() const { return errors_; }
  std::string Path(const std::string& name) const { return (dir_.path() / name).string(); }

 private:
  void Run(const std::vector<std::string>& argv) {
    ProcessResult result = RunProcess(argv);
    if (result.exit_code != 0) errors_ += ::testing::PrintToString(result) + "\n";
  }

  TempDir dir_;
  std::string errors_;
};

class SendLibrariesTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    fixtures_ = std::make_unique<Fixtures>();
    sandboxed_ = std::make_unique<WorkerProcess>();
    unsandboxed_ = std::make_unique<WorkerProcess>(std::vector<std::string>{"--sandbox", "off"});
  }
  static void TearDownTestSuite() {
    sandboxed_.reset();
    unsandboxed_.reset();
    fixtures_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(fixtures_->ok()) << fixtures_->errors();
    ASSERT_TRUE(worker().started()) << worker().log();
  }
  void TearDown() override { ExpectHelloRunsOn(worker()); }

  static const WorkerProcess& worker() { return GetParam() ? *sandboxed_ : *unsandboxed_; }
  static std::string Fixture(const std::string& name) { return fixtures_->Path(name); }

  static ProcessResult Send(const std::vector<std::string>& args) {
    std::vector<std::string> with_worker = {"--worker", worker().address()};
    with_worker.insert(with_worker.end(), args.begin(), args.end());
    return RunSend(with_worker);
  }

 private:
  static inline std::unique_ptr<Fixtures> fixtures_;
  static inline std::unique_ptr<WorkerProcess> sandboxed_;
  static inline std::unique_ptr<WorkerProcess> unsandboxed_;
};

TEST_P(SendLibrariesTest, SystemZlibIsTheWorkersOwnAndBehavesAsNatively) {
  TempDir native_dir;
  const std::string native = (native_dir.path() / "zlib_round_trip").string();
  ProcessResult built = RunProcess({REXEC_TEST_CLANGXX, "-O2", Source("zlib_round_trip.cpp"), "-lz",
                                    "-o", native});
  ASSERT_EQ(built.exit_code, 0) << built;
  ProcessResult expected = RunProcess({native});
  ASSERT_EQ(expected.exit_code, 0) << expected;

  ProcessResult result = Send({Source("zlib_round_trip.cpp"), "-lz"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, expected.stdout_text) << result;
  EXPECT_THAT(result.stdout_text, HasSubstr("round trip ok")) << result;
}

TEST_P(SendLibrariesTest, WithoutItsLibraryTheSameProgramFailsToLink) {
  ProcessResult result = Send({Source("zlib_round_trip.cpp")});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("undefined symbol: compress")) << result;
}

TEST_P(SendLibrariesTest, StaticArchiveByPathIsShippedAndLinked) {
  ProcessResult result = Send({Source("uses_geom.cpp"), Fixture("lib/libgeom.a")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "area 42\n") << result;
}

TEST_P(SendLibrariesTest, StaticArchiveFoundThroughSearchDirectory) {
  ProcessResult attached = Send({Source("uses_geom.cpp"), "-L" + Fixture("lib"), "-lgeom"});
  EXPECT_EQ(attached.exit_code, 0) << attached;
  EXPECT_EQ(attached.stdout_text, "area 42\n") << attached;
  ProcessResult apart = Send({Source("uses_geom.cpp"), "-L", Fixture("lib"), "-l", "geom"});
  EXPECT_EQ(apart.exit_code, 0) << apart;
  EXPECT_EQ(apart.stdout_text, "area 42\n") << apart;
}

TEST_P(SendLibrariesTest, SameModuleWithAnotherArchiveIsOtherLinkedCode) {
  ProcessResult plain = Send({Source("uses_geom.cpp"), "-L" + Fixture("lib"), "-lgeom"});
  ProcessResult biased = Send({Source("uses_geom.cpp"), "-L" + Fixture("biased"), "-lgeom"});
  ProcessResult plain_again = Send({Source("uses_geom.cpp"), Fixture("lib/libgeom.a")});
  EXPECT_EQ(plain.stdout_text, "area 42\n") << plain;
  EXPECT_EQ(biased.stdout_text, "area 43\n") << biased;
  EXPECT_EQ(plain_again.stdout_text, "area 42\n") << plain_again;
}

TEST_P(SendLibrariesTest, CommandClassesLinkLibrariesToo) {
  for (const std::string& dir : {"lib", "biased"}) {
    ProcessResult result = Send({Source("area_command.cpp"), "-L" + Fixture(dir), "-lgeom",
                                 "--set", "width=6", "--set", "height=7", "--print-state"});
    EXPECT_EQ(result.exit_code, 0) << result;
    EXPECT_THAT(result.stdout_text, HasSubstr(dir == "lib" ? "\"area\": 42" : "\"area\": 43"))
        << result;
  }
}

TEST_P(SendLibrariesTest, ObjectIsShippedAndLinked) {
  ProcessResult result = Send({Source("uses_helpers.cpp"), Fixture("helpers.o")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "twice 42\n") << result;
}

TEST_P(SendLibrariesTest, ShippedCppRunsItsStaticConstructorsAndDestructors) {
  const std::string expected =
      "greeter constructed\ngreeting: hello from a shipped object\ngreeter destroyed\n";
  ProcessResult object = Send({Source("uses_greeter.cpp"), Fixture("greeter.o")});
  EXPECT_EQ(object.exit_code, 0) << object;
  EXPECT_EQ(object.stdout_text, expected) << object;
  ProcessResult archive = Send({Source("uses_greeter.cpp"), "-L" + Fixture("lib"), "-lgreeter"});
  EXPECT_EQ(archive.exit_code, 0) << archive;
  EXPECT_EQ(archive.stdout_text, expected) << archive;
}

TEST_P(SendLibrariesTest, BitcodeIsLinkedIntoTheModule) {
  ProcessResult result = Send({Source("uses_extra.cpp"), Fixture("extra.bc")});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "offset 7\n") << result;
}

TEST_P(SendLibrariesTest, RuntimeLibrariesNeedNothing) {
  ProcessResult result = Send({Source("math_threads.c"), "-lm", "-lpthread", "-ldl", "-lrt",
                               "-lstdc++"});
  EXPECT_EQ(result.exit_code, 0) << result;
  EXPECT_EQ(result.stdout_text, "sqrt 1.414214 cbrt 3.000000\n") << result;
}

TEST_P(SendLibrariesTest, LibraryNeitherSideHasIsNotFound) {
  ProcessResult result = Send({Source("uses_geom.cpp"), "-lrexec_no_such_library"});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("rexec: library not found: -lrexec_no_such_library\n"))
      << result;
}

TEST_P(SendLibrariesTest, ObjectForAnotherArchitectureIsRefused) {
  ProcessResult result = Send({Source("uses_helpers.cpp"), Fixture("helpers_arm.o")});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("helpers_arm.o: machine code for aarch64; this worker runs x86_64"))
      << result;
}

TEST_P(SendLibrariesTest, ArchiveForAnotherArchitectureIsRefused) {
  ProcessResult result = Send({Source("uses_geom.cpp"), Fixture("arm/libgeom.a")});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("libgeom.a(geom.o): machine code for aarch64; this worker runs x86_64"))
      << result;
}

TEST_P(SendLibrariesTest, ObjectNeedingAnUndefinedSymbolFailsTheLink) {
  ProcessResult result = Send({Source("uses_helpers.cpp"), Fixture("helpers_unresolved.o")});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("rexec: link failed on worker: undefined symbol: rexec_defined_nowhere"))
      << result;
}

TEST_P(SendLibrariesTest, FileThatIsNoObjectIsRefused) {
  TempDir dir;
  const std::string fake = dir.Write("fake.o", "this is not an object file\n");
  ProcessResult result = Send({Source("uses_helpers.cpp"), fake});
  EXPECT_EQ(result.exit_code, 125) << result;
  EXPECT_THAT(result.stderr_text, HasSubstr("fake.o: not an object file")) << result;
}

INSTANTIATE_TEST_SUITE_P(SandboxOnAndOff, SendLibrariesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Sandboxed" : "Unsandboxed";
                         });

TEST(SendLibrariesEmbeddedTest, EmbeddedWorkerLinksArchivesAndSystemLibraries) {
  Fixtures fixtures;
  ASSERT_TRUE(fixtures.ok()) << fixtures.errors();
  ProcessResult archive = RunSend({Source("uses_geom.cpp"), fixtures.Path("lib/libgeom.a")});
  EXPECT_EQ(archive.exit_code, 0) << archive;
  EXPECT_EQ(archive.stdout_text, "area 42\n") << archive;
  ProcessResult zlib = RunSend({Source("zlib_round_trip.cpp"), "-lz"});
  EXPECT_EQ(zlib.exit_code, 0) << zlib;
  EXPECT_THAT(zlib.stdout_text, HasSubstr("round trip ok")) << zlib;
}

TEST(SendLibrariesQueueTest, LibrariesTravelThroughTheQueue) {
  Fixtures fixtures;
  ASSERT_TRUE(fixtures.ok()) << fixtures.errors();
  RedisServer redis;
  ASSERT_TRUE(redis.started()) << redis.log();
  WorkerProcess worker({"--queue", redis.url()});
  ASSERT_TRUE(worker.started()) << worker.log();
  ProcessResult archive = RunSend({"--queue", redis.url(), Source("uses_geom.cpp"),
                                   "-L" + fixtures.Path("biased"), "-lgeom"});
  EXPECT_EQ(archive.exit_code, 0) << archive;
  EXPECT_EQ(archive.stdout_text, "area 43\n") << archive;
  ProcessResult object = RunSend({"--queue", redis.url(), Source("uses_helpers.cpp"),
                                  fixtures.Path("helpers.o"), "-lz"});
  EXPECT_EQ(object.exit_code, 0) << object;
  EXPECT_EQ(object.stdout_text, "twice 42\n") << object;
  ProcessResult missing = RunSend({"--queue", redis.url(), Source("uses_geom.cpp"),
                                   "-lrexec_no_such_library"});
  EXPECT_EQ(missing.exit_code, 125) << missing;
  EXPECT_THAT(missing.stderr_text,
              HasSubstr("rexec: library not found: -lrexec_no_such_library\n"))
      << missing;
}

}  // namespace
}  // namespace rexec::testing
