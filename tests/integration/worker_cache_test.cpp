// rexec-worker's disk cache across restarts: an entry is bound to its key, so a file planted in
// the cache runs nowhere; a cache directory that cannot be used stops the worker at start; the
// disk cache is bounded; the compile server's target is remembered, so a restarted worker
// starts no server until it compiles.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "runtime/jit/remembered_target.h"
#include "runtime/jit/target_description.h"
#include "runtime/store/blob_store.h"
#include "tests/integration/process_tree.h"
#include "tests/integration/send_command.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/worker_process.h"
#include "tests/support/temp_dir.h"

namespace rexec::testing {
namespace {

using ::testing::HasSubstr;

// The entries in a store directory (named by their key in hex), without its secret.
std::set<std::string> Entries(const std::filesystem::path& store) {
  std::set<std::string> names;
  for (const auto& file : std::filesystem::directory_iterator(store)) {
    std::string name = file.path().filename().string();
    if (name.size() == 64) names.insert(name);
  }
  return names;
}

// How many compile servers run below `worker`.
int CompileServersOf(pid_t worker) {
  return static_cast<int>(ProcessesNamed(worker, {"rexec-compile-s"}).size());
}

class WorkerCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    victim_ = sources_.Write("victim.cpp",
                             "#include <cstdio>\nint main() { std::puts(\"the victim\"); }\n");
    intruder_ = sources_.Write("intruder.cpp",
                               "#include <cstdio>\nint main() { std::puts(\"the intruder\"); }\n");
  }

  // A worker on cache_dir_, which outlives it (a later --cache-dir wins over WorkerProcess's own).
  std::unique_ptr<WorkerProcess> StartWorker(std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), {"--cache-dir", cache_dir_.string()});
    auto worker = std::make_unique<WorkerProcess>(flags);
    EXPECT_TRUE(worker->started()) << worker->log();
    return worker;
  }

  static void ExpectOutput(const WorkerProcess& worker, const std::string& source,
                           const std::string& output) {
    ProcessResult result = RunSend({"--worker", worker.address(), source});
    EXPECT_EQ(result.exit_code, 0) << result << worker.log();
    EXPECT_EQ(result.stdout_text, output) << result;
  }

  TempDir sources_, cache_;
  std::filesystem::path cache_dir_ = cache_.path() / "cache";
  std::filesystem::path objects_ = cache_dir_ / "objects";
  std::string victim_, intruder_;
};

TEST_F(WorkerCacheTest, AnotherProgramsObjectPlantedUnderAKeyIsRefusedAndRebuilt) {
  std::string victim_object, intruder_object;
  {
    auto worker = StartWorker();
    ASSERT_TRUE(worker->started());
    ExpectOutput(*worker, victim_, "the victim\n");
    std::set<std::string> after_victim = Entries(objects_);
    ASSERT_EQ(after_victim.size(), 1u);
    victim_object = *after_victim.begin();
    ExpectOutput(*worker, intruder_, "the intruder\n");
    std::set<std::string> after_intruder = Entries(objects_);
    ASSERT_EQ(after_intruder.size(), 2u);
    after_intruder.erase(victim_object);
    intruder_object = *after_intruder.begin();
    worker->Stop();
  }
  // What a job that can write the cache does: both files are whole and self-consistent.
  std::filesystem::copy_file(objects_ / intruder_object, objects_ / victim_object,
                             std::filesystem::copy_options::overwrite_existing);

  auto restarted = StartWorker();
  ASSERT_TRUE(restarted->started());
  ExpectOutput(*restarted, victim_, "the victim\n");
  std::map<std::string, std::string> stats = restarted->Stats();
  EXPECT_EQ(stats["corrupt_files_removed"], "1") << restarted->log();
  EXPECT_EQ(stats["object_cache_misses"], "1");  // the victim was compiled again
  EXPECT_EQ(stats["object_cache_hits"], "0");

  ExpectOutput(*restarted, intruder_, "the intruder\n");  // its own entry is still good
  EXPECT_EQ(restarted->Stats()["object_cache_hits"], "1");
}

TEST_F(WorkerCacheTest, ACacheDirectoryThatCannotBeCreatedStopsTheWorkerAtStart) {
  // A path under a regular file cannot be made a directory, even by root.
  std::string file = sources_.Write("not-a-directory", "");
  ProcessOptions options;
  options.timeout = milliseconds(20'000);  // a worker that serves instead is killed here
  ProcessResult result = RunProcess(
      {WorkerBinary(), "--listen", "127.0.0.1:0", "--cache-dir", file + "/cache"}, options);
  EXPECT_EQ(result.exit_code, 1) << result;
  EXPECT_THAT(result.stderr_text,
              HasSubstr("rexec-worker: cannot use cache directory " + file + "/cache/"))
      << result;
  EXPECT_EQ(result.stdout_text, "") << "it must not report that it is listening";
}

TEST_F(WorkerCacheTest, TheDiskCacheIsBounded) {
  auto worker = StartWorker({"--cache-max-bytes", "1"});
  ASSERT_TRUE(worker->started());
  ExpectOutput(*worker, victim_, "the victim\n");
  ExpectOutput(*worker, intruder_, "the intruder\n");
  // Each store keeps its newest entry, however large.
  EXPECT_EQ(Entries(objects_).size(), 1u);
  EXPECT_EQ(Entries(cache_dir_ / "modules").size(), 1u);
  EXPECT_EQ(worker->Stats()["disk_evictions"], "2");
}

TEST_F(WorkerCacheTest, ARestartedWorkerStartsNoCompileServerUntilItCompiles) {
  {
    auto worker = StartWorker();
    ASSERT_TRUE(worker->started());
    EXPECT_EQ(CompileServersOf(worker->pid()), 1);  // nothing remembered yet: it asked one
    ExpectOutput(*worker, victim_, "the victim\n");
    worker->Stop();
  }
  auto restarted = StartWorker();
  ASSERT_TRUE(restarted->started());
  EXPECT_EQ(CompileServersOf(restarted->pid()), 0);
  ExpectOutput(*restarted, victim_, "the victim\n");  // its object is cached
  EXPECT_EQ(CompileServersOf(restarted->pid()), 0);
  ExpectOutput(*restarted, intruder_, "the intruder\n");  // compiled: a server starts now
  EXPECT_EQ(CompileServersOf(restarted->pid()), 1);
  EXPECT_EQ(restarted->Stats()["object_cache_misses"], "1");
}

// A remembered target the compile server does not confirm (what a key missing some change of
// the machine would give) fails compiles with the reason, not with code for another CPU, and a
// restart then remembers the server's.
TEST_F(WorkerCacheTest, ARememberedTargetTheServerDeniesFailsCompilesUntilARestart) {
  StartWorker()->Stop();  // remembers the target
  const std::string server =
      (std::filesystem::canonical(WorkerBinary()).parent_path() / "rexec-compile-server").string();
  {
    BlobStoreOptions options;
    options.directory = cache_dir_ / "targets";
    absl::StatusOr<std::unique_ptr<BlobStore>> targets = BlobStore::Open(options);
    ASSERT_TRUE(targets.ok()) << targets.status();
    const ContentHash key = RememberedTargetKey(server);
    std::shared_ptr<const std::string> remembered = (*targets)->Get(key);
    ASSERT_NE(remembered, nullptr) << "no target remembered for " << server;
    absl::StatusOr<TargetDescription> target = TargetDescription::Decode(*remembered);
    ASSERT_TRUE(target.ok()) << target.status();
    target->codegen_fingerprint += ";another machine";
    ASSERT_TRUE((*targets)->Replace(key, std::make_shared<const std::string>(target->Encode())).ok());
  }
  {
    auto misled = StartWorker();
    ASSERT_TRUE(misled->started());
    ProcessResult result = RunSend({"--worker", misled->address(), victim_});
    EXPECT_NE(result.exit_code, 0) << result;
    EXPECT_THAT(result.stderr_text, HasSubstr("restart the worker")) << result << misled->log();
    misled->Stop();
  }
  auto restarted = StartWorker();
  ASSERT_TRUE(restarted->started());
  ExpectOutput(*restarted, victim_, "the victim\n");
}

}  // namespace
}  // namespace rexec::testing
