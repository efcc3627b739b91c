#include "runtime/store/blob_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using testing::TempDir;

std::shared_ptr<const std::string> Blob(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

TEST(BlobStoreTest, StoresInMemory) {
  BlobStore store({});
  ContentHash key = ContentHash::Of("k");
  EXPECT_FALSE(store.Contains(key));
  EXPECT_EQ(store.Get(key), nullptr);
  ASSERT_TRUE(store.Put(key, Blob("value")).ok());
  EXPECT_TRUE(store.Contains(key));
  EXPECT_EQ(*store.Get(key), "value");
}

TEST(BlobStoreTest, SurvivesARestartOnDisk) {
  TempDir dir;
  ContentHash key = ContentHash::Of("k");
  {
    BlobStore store({dir.path()});
    ASSERT_TRUE(store.Put(key, Blob("persisted")).ok());
  }
  BlobStore restarted({dir.path()});
  EXPECT_TRUE(restarted.Contains(key));
  auto blob = restarted.Get(key);
  ASSERT_NE(blob, nullptr);
  EXPECT_EQ(*blob, "persisted");
  EXPECT_EQ(restarted.stats().disk_loads, 1u);
}

TEST(BlobStoreTest, CorruptOrTruncatedFilesAreRemovedNotReturned) {
  TempDir dir;
  ContentHash key = ContentHash::Of("k");
  { BlobStore({dir.path()}).Put(key, Blob(std::string(1000, 'x'))).IgnoreError(); }
  std::filesystem::path file = dir.path() / key.hex();
  ASSERT_TRUE(std::filesystem::exists(file));

  {  // flip one byte of the payload
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    stream.seekp(-10, std::ios::end);
    stream.put('y');
  }
  BlobStore flipped({dir.path()});
  EXPECT_EQ(flipped.Get(key), nullptr);
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_EQ(flipped.stats().corrupt_files_removed, 1u);

  { BlobStore({dir.path()}).Put(key, Blob(std::string(1000, 'x'))).IgnoreError(); }
  std::filesystem::resize_file(file, 20);
  BlobStore truncated({dir.path()});
  EXPECT_EQ(truncated.Get(key), nullptr);
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST(BlobStoreTest, MemoryIsBoundedLeastRecentlyUsedFirst) {
  BlobStoreOptions options;
  options.max_memory_bytes = 250;
  BlobStore store(options);
  ContentHash a = ContentHash::Of("a"), b = ContentHash::Of("b"), c = ContentHash::Of("c");
  ASSERT_TRUE(store.Put(a, Blob(std::string(100, 'a'))).ok());
  ASSERT_TRUE(store.Put(b, Blob(std::string(100, 'b'))).ok());
  ASSERT_NE(store.Get(a), nullptr);  // a is now more recent than b
  ASSERT_TRUE(store.Put(c, Blob(std::string(100, 'c'))).ok());
  EXPECT_TRUE(store.Contains(a));
  EXPECT_FALSE(store.Contains(b));
  EXPECT_TRUE(store.Contains(c));
  EXPECT_LE(store.stats().memory_bytes, 250u);
}

TEST(BlobStoreTest, AnEvictedBlobStaysValidForItsHolder) {
  BlobStoreOptions options;
  options.max_memory_bytes = 100;
  BlobStore store(options);
  ASSERT_TRUE(store.Put(ContentHash::Of("a"), Blob(std::string(100, 'a'))).ok());
  auto held = store.Get(ContentHash::Of("a"));
  ASSERT_TRUE(store.Put(ContentHash::Of("b"), Blob(std::string(100, 'b'))).ok());
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
    BlobStore store(options);
    ASSERT_TRUE(store.Put(a, Blob(std::string(1000, 'a'))).ok());
    ASSERT_TRUE(store.Put(b, Blob(std::string(1000, 'b'))).ok());
    ASSERT_TRUE(store.Put(c, Blob(std::string(1000, 'c'))).ok());
    ASSERT_NE(store.Get(a), nullptr);  // a becomes the most recently used
  }
  BlobStore restarted(options);
  EXPECT_EQ(restarted.stats().disk_entries, 3u);
  ASSERT_TRUE(restarted.Put(d, Blob(std::string(1000, 'd'))).ok());
  EXPECT_TRUE(restarted.Contains(a));
  EXPECT_FALSE(restarted.Contains(b));  // the least recently used went first
  EXPECT_FALSE(std::filesystem::exists(dir.path() / b.hex()));
  EXPECT_TRUE(restarted.Contains(c));
  EXPECT_TRUE(restarted.Contains(d));
  EXPECT_LE(restarted.stats().disk_bytes, options.max_disk_bytes);
  EXPECT_EQ(restarted.stats().disk_evictions, 1u);
}

TEST(BlobStoreDiskTest, LeftoverTemporaryFilesAreRemoved) {
  testing::TempDir dir;
  dir.Write("0123.tmp-abcdef", "partial");
  BlobStore store({dir.path()});
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "0123.tmp-abcdef"));
  EXPECT_EQ(store.stats().disk_entries, 0u);
}

}  // namespace
}  // namespace rexec
