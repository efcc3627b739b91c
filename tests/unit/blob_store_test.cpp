#include "runtime/blob_store.h"

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
