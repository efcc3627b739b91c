#include "runtime/store/file_store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/read_file.h"
#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;

std::unique_ptr<FileStore> Open(FileStoreOptions options) {
  return FileStore::Open(std::move(options)).value();
}

// Uploads `contents` in chunks of `chunk` bytes.
absl::Status Put(FileStore& store, const std::string& contents, size_t chunk = 3) {
  absl::StatusOr<std::unique_ptr<FileStore::Upload>> upload =
      store.StartUpload(ContentHash::Of(contents), contents.size());
  if (!upload.ok()) return upload.status();
  for (size_t at = 0; at < contents.size(); at += chunk) {
    if (absl::Status written = (*upload)->Write(std::string_view(contents).substr(at, chunk));
        !written.ok()) {
      return written;
    }
  }
  return (*upload)->Finish();
}

TEST(FileStoreTest, StoresAFileUploadedInChunksUnderItsHash) {
  TempDir dir;
  auto store = Open({dir.path() / "files"});
  const std::string contents = "the contents of an input file";
  EXPECT_FALSE(store->Contains(ContentHash::Of(contents)));
  ASSERT_TRUE(Put(*store, contents).ok());
  EXPECT_TRUE(store->Contains(ContentHash::Of(contents)));
  EXPECT_EQ(store->stats().files, 1u);
  EXPECT_EQ(store->stats().bytes, contents.size());
}

TEST(FileStoreTest, RefusesContentsThatDoNotMatchTheHash) {
  TempDir dir;
  auto store = Open({dir.path() / "files"});
  auto upload = store->StartUpload(ContentHash::Of("announced"), 9);
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write("different").ok());
  absl::Status finished = (*upload)->Finish();
  EXPECT_THAT(finished.message(), HasSubstr("does not match its hash"));
  EXPECT_FALSE(store->Contains(ContentHash::Of("announced")));
  EXPECT_FALSE(store->Contains(ContentHash::Of("different")));
}

TEST(FileStoreTest, RefusesMoreOrFewerBytesThanAnnounced) {
  TempDir dir;
  auto store = Open({dir.path() / "files"});
  auto longer = store->StartUpload(ContentHash::Of("abc"), 3);
  ASSERT_TRUE(longer.ok());
  EXPECT_EQ((*longer)->Write("abcd").code(), absl::StatusCode::kOutOfRange);
  auto shorter = store->StartUpload(ContentHash::Of("abc"), 3);
  ASSERT_TRUE(shorter.ok());
  ASSERT_TRUE((*shorter)->Write("ab").ok());
  EXPECT_THAT((*shorter)->Finish().message(), HasSubstr("ended after 2 of the 3 bytes"));
  EXPECT_FALSE(store->Contains(ContentHash::Of("abc")));
}

TEST(FileStoreTest, AnUnfinishedUploadLeavesNothingBehind) {
  TempDir dir;
  auto store = Open({dir.path() / "files"});
  {
    auto upload = store->StartUpload(ContentHash::Of("abc"), 3);
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Write("ab").ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "files/uploads"));
}

TEST(FileStoreTest, RefusesFilesLargerThanItsBoundAndTooManyUploadsAtOnce) {
  TempDir dir;
  auto store = Open({dir.path() / "files", 0, 10, 2});
  EXPECT_EQ(store->StartUpload(ContentHash::Of("x"), 11).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = store->StartUpload(ContentHash::Of("a"), 1);
  auto second = store->StartUpload(ContentHash::Of("b"), 1);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(store->StartUpload(ContentHash::Of("c"), 1).status().code(),
            absl::StatusCode::kResourceExhausted);
  first->reset();
  EXPECT_TRUE(store->StartUpload(ContentHash::Of("c"), 1).ok());
}

TEST(FileStoreTest, EvictsTheLeastRecentlyUsedBeyondItsBound) {
  TempDir dir;
  auto store = Open({dir.path() / "files", 20});
  ASSERT_TRUE(Put(*store, "0123456789").ok());
  ASSERT_TRUE(Put(*store, "abcdefghij").ok());
  EXPECT_TRUE(store->Contains(ContentHash::Of("0123456789")));  // now the more recent
  ASSERT_TRUE(Put(*store, "ABCDEFGHIJ").ok());
  EXPECT_TRUE(store->Contains(ContentHash::Of("0123456789")));
  EXPECT_FALSE(store->Contains(ContentHash::Of("abcdefghij")));
  EXPECT_TRUE(store->Contains(ContentHash::Of("ABCDEFGHIJ")));
  EXPECT_EQ(store->stats().evictions, 1u);
  EXPECT_EQ(store->stats().bytes, 20u);
}

TEST(FileStoreTest, PlacesAReadOnlyLinkOrAWritableCopy) {
  TempDir dir;
  auto store = Open({dir.path() / "files"});
  ASSERT_TRUE(Put(*store, "payload").ok());
  int target = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(target, 0);
  const ContentHash hash = ContentHash::Of("payload");
  ASSERT_TRUE(store->PlaceInto(hash, target, "linked", FileStore::Placement::kHardLink).ok());
  ASSERT_TRUE(store->PlaceInto(hash, target, "copied", FileStore::Placement::kCopy).ok());
  EXPECT_EQ(store->PlaceInto(ContentHash::Of("absent"), target, "x",
                             FileStore::Placement::kCopy).code(),
            absl::StatusCode::kNotFound);
  close(target);
  struct stat linked, copied;
  ASSERT_EQ(stat((dir.path() / "linked").c_str(), &linked), 0);
  ASSERT_EQ(stat((dir.path() / "copied").c_str(), &copied), 0);
  EXPECT_EQ(linked.st_mode & 0777, 0444u);
  EXPECT_EQ(linked.st_nlink, 2u);
  EXPECT_EQ(copied.st_nlink, 1u);
  EXPECT_EQ(ReadFile(dir.path() / "copied"), "payload");
}

TEST(FileStoreTest, StartsEmptyAndATemporaryStoreCleansUp) {
  TempDir dir;
  {
    auto store = Open({dir.path() / "files"});
    ASSERT_TRUE(Put(*store, "kept?").ok());
  }
  EXPECT_FALSE(Open({dir.path() / "files"})->Contains(ContentHash::Of("kept?")));
  std::filesystem::path staging;
  {
    auto temporary = Open({});
    staging = temporary->staging_directory();
    EXPECT_TRUE(std::filesystem::is_directory(staging));
  }
  EXPECT_FALSE(std::filesystem::exists(staging.parent_path()));
}

}  // namespace
}  // namespace rexec
