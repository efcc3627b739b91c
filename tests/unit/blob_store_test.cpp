#include "runtime/store/blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::shared_ptr<const std::string> Blob(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

std::unique_ptr<BlobStore> Open(BlobStoreOptions options) {
  return BlobStore::Open(std::move(options)).value();
}

TEST(BlobStoreTest, StoresInMemory) {
  auto store = Open({});
  ContentHash key = ContentHash::Of("k");
  EXPECT_FALSE(store->Contains(key));
  EXPECT_EQ(store->Get(key), nullptr);
  ASSERT_TRUE(store->Put(key, Blob("value")).ok());
  EXPECT_TRUE(store->Contains(key));
  EXPECT_EQ(*store->Get(key), "value");
}

TEST(BlobStoreTest, SurvivesARestartOnDisk) {
  TempDir dir;
  ContentHash key = ContentHash::Of("k");
  {
    auto store = Open({dir.path()});
    ASSERT_TRUE(store->Put(key, Blob("persisted")).ok());
  }
  auto restarted = Open({dir.path()});
  EXPECT_TRUE(restarted->Contains(key));
  auto blob = restarted->Get(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(*blob, "persisted");
  EXPECT_EQ(restarted->stats().disk_loads, 1u);
  EXPECT_EQ(restarted->stats().corrupt_files_removed, 0u);
}

// Put keeps a key's first blob (keys name their content); Replace is for keys that do not.
TEST(BlobStoreTest, ReplaceStoresANewBlobUnderAKeyPutKeeps) {
  TempDir dir;
  const ContentHash key = ContentHash::Of("a name, not the content");
  {
    auto store = Open({dir.path()});
    ASSERT_TRUE(store->Put(key, Blob("first")).ok());
    ASSERT_TRUE(store->Put(key, Blob("second")).ok());
    EXPECT_EQ(*store->Get(key), "first");
    ASSERT_TRUE(store->Replace(key, Blob("third")).ok());
    EXPECT_EQ(*store->Get(key), "third");
    EXPECT_EQ(store->stats().disk_entries, 1u);
  }
  auto reopened = Open({dir.path()});
  ASSERT_NE(reopened->Get(key), nullptr);
  EXPECT_EQ(*reopened->Get(key), "third");
}

TEST(BlobStoreTest, CorruptOrTruncatedFilesAreRemovedNotReturned) {
  TempDir dir;
  ContentHash key = ContentHash::Of("k");
  ASSERT_TRUE(Open({dir.path()})->Put(key, Blob(std::string(1000, 'x'))).ok());
  std::filesystem::path file = dir.path() / key.hex();
  ASSERT_TRUE(std::filesystem::exists(file));

  {  // flip one byte of the payload
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    stream.seekp(-10, std::ios::end);
    stream.put('y');
  }
  auto flipped = Open({dir.path()});
  EXPECT_EQ(flipped->Get(key), nullptr);
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_EQ(flipped->stats().corrupt_files_removed, 1u);

  ASSERT_TRUE(Open({dir.path()})->Put(key, Blob(std::string(1000, 'x'))).ok());
  std::filesystem::resize_file(file, 20);
  auto truncated = Open({dir.path()});
  EXPECT_EQ(truncated->Get(key), nullptr);
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST(BlobStoreTest, MemoryIsBoundedLeastRecentlyUsedFirst) {
  BlobStoreOptions options;
  options.max_memory_bytes = 250;
  auto store = Open(options);
  ContentHash a = ContentHash::Of("a"), b = ContentHash::Of("b"), c = ContentHash::Of("c");
  ASSERT_TRUE(store->Put(a, Blob(std::string(100, 'a'))).ok());
  ASSERT_TRUE(store->Put(b, Blob(std::string(100, 'b'))).ok());
  ASSERT_NE(store->Get(a), nullptr);  // a is now more recent than b
  ASSERT_TRUE(store->Put(c, Blob(std::string(100, 'c'))).ok());
  EXPECT_TRUE(store->Contains(a));
  EXPECT_FALSE(store->Contains(b));
  EXPECT_TRUE(store->Contains(c));
  EXPECT_LE(store->stats().memory_bytes, 250u);
}

TEST(BlobStoreTest, AnEvictedBlobStaysValidForItsHolder) {
  BlobStoreOptions options;
  options.max_memory_bytes = 100;
  auto store = Open(options);
  ASSERT_TRUE(store->Put(ContentHash::Of("a"), Blob(std::string(100, 'a'))).ok());
  auto held = store->Get(ContentHash::Of("a"));
  ASSERT_TRUE(store->Put(ContentHash::Of("b"), Blob(std::string(100, 'b'))).ok());
  EXPECT_EQ(*held, std::string(100, 'a'));
}

}  // namespace
}  // namespace rexec

namespace rexec {
namespace {

TEST(BlobStoreDiskTest, DiskIsBoundedLeastRecentlyUsedFirstAcrossRestarts) {
  testing::TempDir dir;
  BlobStoreOptions options{dir.path()};
  options.max_memory_bytes = 1;  // force reads to come from disk
  options.max_disk_bytes = 3 * 1100;
  ContentHash a = ContentHash::Of("a"), b = ContentHash::Of("b"), c = ContentHash::Of("c"),
              d = ContentHash::Of("d");
  {
    auto store = Open(options);
    ASSERT_TRUE(store->Put(a, Blob(std::string(1000, 'a'))).ok());
    ASSERT_TRUE(store->Put(b, Blob(std::string(1000, 'b'))).ok());
    ASSERT_TRUE(store->Put(c, Blob(std::string(1000, 'c'))).ok());
    ASSERT_NE(store->Get(a), nullptr);  // a becomes the most recently used
  }
  auto restarted = Open(options);
  EXPECT_EQ(restarted->stats().disk_entries, 3u);
  ASSERT_TRUE(restarted->Put(d, Blob(std::string(1000, 'd'))).ok());
  EXPECT_TRUE(restarted->Contains(a));
  EXPECT_FALSE(restarted->Contains(b));  // the least recently used went first
  EXPECT_FALSE(std::filesystem::exists(dir.path() / b.hex()));
  EXPECT_TRUE(restarted->Contains(c));
  EXPECT_TRUE(restarted->Contains(d));
  EXPECT_LE(restarted->stats().disk_bytes, options.max_disk_bytes);
  EXPECT_EQ(restarted->stats().disk_evictions, 1u);
}

TEST(BlobStoreDiskTest, LeftoverTemporaryFilesAreRemoved) {
  testing::TempDir dir;
  dir.Write("0123.tmp-abcdef", "partial");
  auto store = Open({dir.path()});
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "0123.tmp-abcdef"));
  EXPECT_EQ(store->stats().disk_entries, 0u);
}

// Cache poisoning: whoever can write the directory but lacks its secret cannot make an entry that
// loads under a key of their choice.
class BlobStoreForgeryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Open({dir_.path()});
    ASSERT_TRUE(store->Put(victim_, Blob("the victim's code")).ok());
    ASSERT_TRUE(store->Put(foreign_, Blob("someone else's code")).ok());
  }

  // Opens the store afresh, as a restarted worker does, and asks for the victim's entry.
  void ExpectRefused() {
    auto restarted = Open({dir_.path()});
    EXPECT_EQ(restarted->Get(victim_), nullptr);
    EXPECT_EQ(restarted->stats().corrupt_files_removed, 1u);
    EXPECT_FALSE(std::filesystem::exists(victim_file()));
    EXPECT_FALSE(restarted->Contains(victim_));
    auto foreign = restarted->Get(foreign_);  // other entries stay good
    ASSERT_NE(foreign, nullptr);
    EXPECT_EQ(*foreign, "someone else's code");
  }

  std::filesystem::path victim_file() const { return dir_.path() / victim_.hex(); }

  testing::TempDir dir_;
  ContentHash victim_ = ContentHash::Of("victim's key");
  ContentHash foreign_ = ContentHash::Of("foreign key");
};

TEST_F(BlobStoreForgeryTest, AnotherKeysValidEntryCopiedOverAnEntryIsRefused) {
  std::filesystem::copy_file(dir_.path() / foreign_.hex(), victim_file(),
                             std::filesystem::copy_options::overwrite_existing);
  ExpectRefused();
}

TEST_F(BlobStoreForgeryTest, ASelfConsistentEntryInTheOldChecksumFormatIsRefused) {
  // What rexec-blob-1 accepted: magic, BLAKE3 of the contents, the contents.
  std::string forged = "someone else's code";
  dir_.Write(victim_.hex(),
             "rexec-blob-1\n" + std::string(ContentHash::Of(forged).bytes()) + forged);
  ExpectRefused();
}

TEST_F(BlobStoreForgeryTest, EntriesMadeUnderAnotherSecretAreRefused) {
  std::filesystem::remove(dir_.path() / "secret");  // what an operator does to start afresh
  auto restarted = Open({dir_.path()});
  EXPECT_EQ(restarted->Get(victim_), nullptr);
  EXPECT_EQ(restarted->Get(foreign_), nullptr);
  EXPECT_EQ(restarted->stats().corrupt_files_removed, 2u);
}

TEST(BlobStoreDirectoryTest, TheSecretIsMadeAtFirstOpenForTheOwnerOnly) {
  testing::TempDir dir;
  Open({dir.path() / "store"});
  struct stat status;
  ASSERT_EQ(stat((dir.path() / "store" / "secret").c_str(), &status), 0);
  EXPECT_TRUE(S_ISREG(status.st_mode));
  EXPECT_EQ(status.st_mode & 07777, 0600u);
  EXPECT_EQ(status.st_uid, geteuid());
  EXPECT_EQ(status.st_size, 32);
}

TEST(BlobStoreDirectoryTest, ABadSecretFileIsAnErrorAtOpenAndIsKept) {
  testing::TempDir dir;
  std::string secret = dir.Write("secret", std::string(32, 's'));
  ASSERT_EQ(chmod(secret.c_str(), 0644), 0);
  absl::StatusOr<std::unique_ptr<BlobStore>> store = BlobStore::Open({dir.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(secret));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("0644"));
  struct stat status;
  ASSERT_EQ(stat(secret.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0644u);  // not silently replaced
}

TEST(BlobStoreDirectoryTest, ADirectoryThatCannotBeCreatedIsAnErrorAtOpen) {
  // A path under a regular file cannot be a directory, even for root.
  testing::TempDir dir;
  std::string file = dir.Write("file", "");
  absl::StatusOr<std::unique_ptr<BlobStore>> store =
      BlobStore::Open({std::filesystem::path(file) / "cache"});
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr("cannot use cache directory " + file + "/cache"));
}

TEST(BlobStoreDirectoryTest, ADirectoryThatCannotBeWrittenIsAnErrorAtOpen) {
  if (geteuid() == 0) GTEST_SKIP() << "permission bits do not stop root";
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "cache");
  ASSERT_EQ(chmod((dir.path() / "cache").c_str(), 0500), 0);
  absl::StatusOr<std::unique_ptr<BlobStore>> store = BlobStore::Open({dir.path() / "cache"});
  chmod((dir.path() / "cache").c_str(), 0700);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("cannot write"));
}

}  // namespace
}  // namespace rexec
