#include "rexec/content_hash.h"

#include <gtest/gtest.h>

namespace rexec {
namespace {

TEST(ContentHashTest, EqualBytesHashEqualAndDifferentBytesDiffer) {
  EXPECT_EQ(ContentHash::Of("abc"), ContentHash::Of("abc"));
  EXPECT_NE(ContentHash::Of("abc"), ContentHash::Of("abd"));
  EXPECT_EQ(ContentHash::Of("abc").bytes().size(), ContentHash::kSize);
}

TEST(ContentHashTest, MatchesBlake3KnownAnswer) {
  // BLAKE3 of the empty input, from the BLAKE3 reference test vectors.
  EXPECT_EQ(ContentHash::Of("").hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

TEST(ContentHashTest, HexRoundTrips) {
  ContentHash hash = ContentHash::Of("module");
  std::optional<ContentHash> parsed = ContentHash::FromHex(hash.hex());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, hash);
  EXPECT_EQ(hash.short_hex(), hash.hex().substr(0, 12));
}

TEST(ContentHashTest, RefusesMalformedInput) {
  EXPECT_FALSE(ContentHash::FromBytes("short").has_value());
  EXPECT_FALSE(ContentHash::FromBytes(std::string(33, 'x')).has_value());
  EXPECT_FALSE(ContentHash::FromHex("zz").has_value());
  EXPECT_FALSE(ContentHash::FromHex(std::string(64, 'g')).has_value());
}

TEST(ContentHasherTest, PartsAreLengthPrefixed) {
  EXPECT_NE(ContentHasher().Add("ab").Add("c").Finish(),
            ContentHasher().Add("a").Add("bc").Finish());
  EXPECT_EQ(ContentHasher().Add("ab").Add("c").Finish(),
            ContentHasher().Add("ab").Add("c").Finish());
}

TEST(ContentStreamHasherTest, PiecesHashLikeTheWhole) {
  ContentStreamHasher hasher;
  hasher.Update("a file ");
  hasher.Update("");
  hasher.Update("in pieces");
  EXPECT_EQ(hasher.Finish(), ContentHash::Of("a file in pieces"));
}

}  // namespace
}  // namespace rexec
