// runtime/jit/template_protocol.h: the frames the worker sends a module template.
#include "runtime/jit/template_protocol.h"

#include <gtest/gtest.h>

namespace rexec::template_protocol {
namespace {

TEST(TemplateProtocolTest, LibraryFrameRoundTrips) {
  const LibraryInput archive{LinkedLibrary::Kind::kArchive, "libgeom.a",
                             std::string("!<arch>\n\0\1", 10)};
  absl::StatusOr<LibraryInput> decoded = DecodeLibrary(EncodeLibrary(archive));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->kind, archive.kind);
  EXPECT_EQ(decoded->name, archive.name);
  EXPECT_EQ(decoded->contents, archive.contents);

  const LibraryInput system{LinkedLibrary::Kind::kSystem, "z", "/usr/lib/libz.so"};
  decoded = DecodeLibrary(EncodeLibrary(system));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->kind, LinkedLibrary::Kind::kSystem);
  EXPECT_EQ(decoded->contents, "/usr/lib/libz.so");
}

TEST(TemplateProtocolTest, MalformedLibraryFramesAreRefused) {
  std::string frame = EncodeLibrary({LinkedLibrary::Kind::kObject, "helpers.o", "bytes"});
  EXPECT_FALSE(DecodeLibrary("").ok());
  EXPECT_FALSE(DecodeLibrary(frame.substr(0, 3)).ok());
  EXPECT_FALSE(DecodeLibrary(frame.substr(0, 8)).ok());  // the name cut short
  frame[0] = 9;
  EXPECT_FALSE(DecodeLibrary(frame).ok());
}

}  // namespace
}  // namespace rexec::template_protocol
