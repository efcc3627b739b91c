// runtime/jit/link_request.h: linked code is keyed by the module and its libraries together.
#include "runtime/jit/link_request.h"

#include <gtest/gtest.h>

namespace rexec {
namespace {

LinkedLibrary Archive(std::string_view bytes) {
  return {LinkedLibrary::Kind::kArchive, "libgeom.a", ContentHash::Of(bytes), ""};
}

LinkedLibrary System(std::string name, std::string path) {
  return {LinkedLibrary::Kind::kSystem, std::move(name), {}, std::move(path)};
}

TEST(LinkRequestTest, ModuleAloneIsKeyedByItsOwnHash) {
  const ContentHash module = ContentHash::Of("bitcode");
  EXPECT_EQ(LinkRequest{module}.Key(), module);
}

TEST(LinkRequestTest, EachLibraryAndItsOrderChangeTheKey) {
  const ContentHash module = ContentHash::Of("bitcode");
  const ContentHash plain = LinkRequest{module, {Archive("a")}}.Key();
  EXPECT_NE(plain, module);
  EXPECT_NE(plain, (LinkRequest{module, {Archive("b")}}.Key()));
  EXPECT_NE((LinkRequest{module, {Archive("a"), Archive("b")}}.Key()),
            (LinkRequest{module, {Archive("b"), Archive("a")}}.Key()));
  LinkedLibrary object = Archive("a");
  object.kind = LinkedLibrary::Kind::kObject;
  EXPECT_NE(plain, (LinkRequest{module, {object}}.Key()));
  EXPECT_NE((LinkRequest{module, {System("z", "/usr/lib/libz.so")}}.Key()),
            (LinkRequest{module, {System("m2", "/usr/lib/libz.so")}}.Key()));
}

TEST(LinkRequestTest, FileNamesAndPathsAreNotIdentity) {
  const ContentHash module = ContentHash::Of("bitcode");
  LinkedLibrary renamed = Archive("a");
  renamed.name = "other.a";
  EXPECT_EQ((LinkRequest{module, {Archive("a")}}.Key()), (LinkRequest{module, {renamed}}.Key()));
  EXPECT_EQ((LinkRequest{module, {System("z", "/lib/libz.so")}}.Key()),
            (LinkRequest{module, {System("z", "/usr/lib/libz.so")}}.Key()));
}

}  // namespace
}  // namespace rexec
