#include "runtime/jit/code_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/compile_source.h"

namespace rexec {
namespace {

using testing::CompileSource;
using testing::TempDir;

class CodeCacheTest : public ::testing::Test {
 protected:
  CodeCacheTest() : io_(std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo())) {}

  std::unique_ptr<BlobStore> Open(const char* name) {
    return BlobStore::Open({dir_.path() / name}).value();
  }

  // Held by pointer: kj::AsyncIoContext may throw from its destructor; a test fixture may not.
  std::unique_ptr<kj::AsyncIoContext> io_;
  TempDir dir_;
};

TEST_F(CodeCacheTest, MissingModuleIsNotFound) {
  std::unique_ptr<BlobStore> modules = Open("modules"), objects = Open("objects");
  CodeCache cache(*modules, *objects, 8);
  LoadedCode loaded = cache.Load({ContentHash::Of("nothing")}).wait(io_->waitScope);
  EXPECT_EQ(loaded.module.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CodeCacheTest, ConcurrentRequestsShareOneCompilation) {
  Module module = CompileSource("int main() { return 0; }");
  std::unique_ptr<BlobStore> modules = Open("modules"), objects = Open("objects");
  ASSERT_TRUE(modules->Put(module.hash, std::make_shared<std::string>(module.bitcode)).ok());
  CodeCache cache(*modules, *objects, 8);

  auto first = cache.Load({module.hash});
  auto second = cache.Load({module.hash});
  LoadedCode a = first.wait(io_->waitScope);
  LoadedCode b = second.wait(io_->waitScope);
  ASSERT_TRUE(a.module.ok()) << a.module.status();
  ASSERT_TRUE(b.module.ok());
  EXPECT_EQ(a.module->get(), b.module->get());
  EXPECT_EQ(cache.stats().object_misses, 1u);

  LoadedCode third = cache.Load({module.hash}).wait(io_->waitScope);
  EXPECT_TRUE(third.link_cached);
  EXPECT_EQ(third.module->get(), a.module->get());
}

TEST_F(CodeCacheTest, ARequestJoiningABuildThatMissedAnUploadStillGetsTheModule) {
  // Many jobs race one upload: a build may start before the bitcode arrives and report it
  // missing; a request made after the upload that joins that build must still succeed.
  Module module = CompileSource("int main() { return 0; }");
  std::unique_ptr<BlobStore> modules = Open("modules"), objects = Open("objects");
  CodeCache cache(*modules, *objects, 8);
  auto before_upload = cache.Load({module.hash});
  // Give the background thread time to find the module missing; its answer is not delivered
  // until this thread's event loop runs, so the next Load joins that build.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(modules->Put(module.hash, std::make_shared<std::string>(module.bitcode)).ok());
  auto after_upload = cache.Load({module.hash});
  LoadedCode early = before_upload.wait(io_->waitScope);
  LoadedCode late = after_upload.wait(io_->waitScope);
  EXPECT_TRUE(late.module.ok()) << late.module.status();
  EXPECT_TRUE(early.module.ok()) << early.module.status();
}

TEST_F(CodeCacheTest, RestartReusesCompiledObjectsFromDisk) {
  Module module = CompileSource("int main() { return 0; }");
  {
    std::unique_ptr<BlobStore> modules = Open("modules"), objects = Open("objects");
    ASSERT_TRUE(modules->Put(module.hash, std::make_shared<std::string>(module.bitcode)).ok());
    CodeCache cache(*modules, *objects, 8);
    LoadedCode cold = cache.Load({module.hash}).wait(io_->waitScope);
    ASSERT_TRUE(cold.module.ok());
    EXPECT_FALSE(cold.compile_cached);
  }
  std::unique_ptr<BlobStore> modules = Open("modules"), objects = Open("objects");
  CodeCache restarted(*modules, *objects, 8);
  LoadedCode warm = restarted.Load({module.hash}).wait(io_->waitScope);
  ASSERT_TRUE(warm.module.ok()) << warm.module.status();
  EXPECT_TRUE(warm.compile_cached);
  EXPECT_EQ(warm.compile_us, 0u);
  EXPECT_EQ(restarted.stats().object_hits, 1u);
}

TEST_F(CodeCacheTest, LinkFailuresAreReportedAndNotCached) {
  Module module = CompileSource("int missing();\nint main() { return missing(); }");
  std::unique_ptr<BlobStore> modules = Open("modules"), objects = Open("objects");
  ASSERT_TRUE(modules->Put(module.hash, std::make_shared<std::string>(module.bitcode)).ok());
  CodeCache cache(*modules, *objects, 8);
  for (int attempt = 0; attempt < 2; ++attempt) {
    LoadedCode loaded = cache.Load({module.hash}).wait(io_->waitScope);
    EXPECT_EQ(loaded.module.status().code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(cache.stats().linked_modules, 0u);
}

TEST_F(CodeCacheTest, LinkedModulesAreBounded) {
  std::unique_ptr<BlobStore> modules = Open("modules"), objects = Open("objects");
  CodeCache cache(*modules, *objects, 2);
  for (int i = 0; i < 4; ++i) {
    Module module = CompileSource("int main() { return " + std::to_string(i) + "; }");
    ASSERT_TRUE(modules->Put(module.hash, std::make_shared<std::string>(module.bitcode)).ok());
    ASSERT_TRUE(cache.Load({module.hash}).wait(io_->waitScope).module.ok());
  }
  EXPECT_EQ(cache.stats().linked_modules, 2u);
}

}  // namespace
}  // namespace rexec
