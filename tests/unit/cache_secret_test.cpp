#include "runtime/store/cache_secret.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/support/temp_dir.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

TEST(CacheSecretTest, IsMadeOnceAndReadBackTheSame) {
  TempDir dir;
  absl::StatusOr<CacheSecret> made = CacheSecret::LoadOrCreate(dir.path());
  ASSERT_TRUE(made.ok()) << made.status();
  absl::StatusOr<CacheSecret> read = CacheSecret::LoadOrCreate(dir.path());
  ASSERT_TRUE(read.ok()) << read.status();
  ContentHash key = ContentHash::Of("key");
  EXPECT_EQ(made->Mac(key, "contents"), read->Mac(key, "contents"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1)
      << "only the secret itself, no temporary file left behind";

  struct stat status;
  ASSERT_EQ(stat((dir.path() / "secret").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0600u);
  EXPECT_EQ(status.st_size, static_cast<off_t>(CacheSecret::kSize));
}

TEST(CacheSecretTest, TheMacBindsKeyContentsAndSecret) {
  TempDir first_dir, second_dir;
  CacheSecret secret = CacheSecret::LoadOrCreate(first_dir.path()).value();
  CacheSecret other = CacheSecret::LoadOrCreate(second_dir.path()).value();
  ContentHash key = ContentHash::Of("key"), other_key = ContentHash::Of("other key");
  std::string mac = secret.Mac(key, "contents");
  EXPECT_EQ(mac.size(), CacheSecret::kMacSize);
  EXPECT_TRUE(secret.Verify(key, "contents", mac));
  EXPECT_FALSE(secret.Verify(other_key, "contents", mac));
  EXPECT_FALSE(secret.Verify(key, "Contents", mac));
  EXPECT_FALSE(other.Verify(key, "contents", mac));
  EXPECT_FALSE(secret.Verify(key, "contents", mac.substr(1)));
  EXPECT_FALSE(secret.Verify(key, "contents", ContentHash::Of("contents").bytes()));
}

// Each case leaves the file as it found it and is refused with the file's path in the message.
class CacheSecretRefusalTest : public ::testing::Test {
 protected:
  void ExpectRefused(const std::string& problem) {
    std::filesystem::path path = dir_.path() / "secret";
    std::error_code ignored;
    auto before = std::filesystem::symlink_status(path, ignored);
    absl::StatusOr<CacheSecret> secret = CacheSecret::LoadOrCreate(dir_.path());
    ASSERT_FALSE(secret.ok());
    EXPECT_EQ(secret.status().code(), absl::StatusCode::kFailedPrecondition) << secret.status();
    EXPECT_THAT(std::string(secret.status().message()), HasSubstr(path.string()));
    EXPECT_THAT(std::string(secret.status().message()), HasSubstr(problem));
    auto after = std::filesystem::symlink_status(path, ignored);
    EXPECT_EQ(before.type(), after.type());
    EXPECT_EQ(before.permissions(), after.permissions());
  }

  std::string WriteSecret(std::string_view contents, mode_t mode) {
    std::string path = dir_.Write("secret", contents);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  TempDir dir_;
};

TEST_F(CacheSecretRefusalTest, OthersMayReadIt) {
  WriteSecret(std::string(CacheSecret::kSize, 's'), 0644);
  ExpectRefused("has mode 0644");
}

TEST_F(CacheSecretRefusalTest, OthersMayWriteIt) {
  WriteSecret(std::string(CacheSecret::kSize, 's'), 0602);
  ExpectRefused("has mode 0602");
}

TEST_F(CacheSecretRefusalTest, WrongSize) {
  WriteSecret("short", 0600);
  ExpectRefused("holds 5 bytes");
  WriteSecret("", 0600);
  ExpectRefused("holds 0 bytes");
}

TEST_F(CacheSecretRefusalTest, ADirectory) {
  std::filesystem::create_directory(dir_.path() / "secret");
  ExpectRefused("is not a regular file");
}

TEST_F(CacheSecretRefusalTest, ASymbolicLink) {
  TempDir elsewhere;
  std::string target = elsewhere.Write("planted", std::string(CacheSecret::kSize, 's'));
  ASSERT_EQ(chmod(target.c_str(), 0600), 0);
  std::filesystem::create_symlink(target, dir_.path() / "secret");
  ExpectRefused("is a symbolic link");
}

TEST_F(CacheSecretRefusalTest, AnotherOwner) {
  if (geteuid() != 0) GTEST_SKIP() << "only root can give a file away";
  std::string path = WriteSecret(std::string(CacheSecret::kSize, 's'), 0600);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  ExpectRefused("is owned by uid 65534");
}

}  // namespace
}  // namespace rexec
