#include "runtime/jit/library_check.h"

#include <llvm/BinaryFormat/Magic.h>
#include <llvm/Object/Archive.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/TargetParser/Triple.h>

#include "absl/strings/str_cat.h"

namespace rexec {
namespace {

absl::Status Refuse(const std::string& what, const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat(what, ": ", why));
}

absl::Status CheckObject(llvm::MemoryBufferRef bytes, const std::string& what,
                         const llvm::Triple& host) {
  llvm::Expected<std::unique_ptr<llvm::object::ObjectFile>> file =
      llvm::object::ObjectFile::createObjectFile(bytes);
  if (!file) {
    return Refuse(what, absl::StrCat("not an object file (", llvm::toString(file.takeError()),
                                     ")"));
  }
  if (!(*file)->isELF() || !(*file)->isRelocatableObject()) {
    return Refuse(what, "not a relocatable ELF object (what cc -c makes)");
  }
  const llvm::Triple::ArchType arch = (*file)->getArch();
  if (arch != host.getArch()) {
    return Refuse(what, absl::StrCat("machine code for ",
                                     llvm::Triple::getArchTypeName(arch).str(),
                                     "; this worker runs ", host.getArchName().str()));
  }
  return absl::OkStatus();
}

absl::Status CheckArchive(llvm::MemoryBufferRef bytes, const std::string& what,
                          const llvm::Triple& host) {
  llvm::Expected<std::unique_ptr<llvm::object::Archive>> archive =
      llvm::object::Archive::create(bytes);
  if (!archive) {
    return Refuse(what, absl::StrCat("not a static archive (", llvm::toString(archive.takeError()),
                                     ")"));
  }
  if ((*archive)->isThin()) {
    return Refuse(what, "a thin archive, whose members are files elsewhere; ship a regular one");
  }
  // The first problem ends the walk; `error` must still be checked after it.
  absl::Status problem = absl::OkStatus();
  llvm::Error error = llvm::Error::success();
  for (const llvm::object::Archive::Child& child : (*archive)->children(error)) {
    llvm::Expected<llvm::MemoryBufferRef> member = child.getMemoryBufferRef();
    if (!member) {
      problem = Refuse(what, absl::StrCat("a malformed archive (",
                                          llvm::toString(member.takeError()), ")"));
      break;
    }
    llvm::Expected<llvm::StringRef> name = child.getName();
    const std::string member_what =
        absl::StrCat(what, "(", name ? name->str() : "?", ")");
    if (!name) llvm::consumeError(name.takeError());
    const llvm::file_magic magic = llvm::identify_magic(member->getBuffer());
    if (magic == llvm::file_magic::bitcode) {
      problem = Refuse(member_what,
                       "LLVM bitcode, not machine code; pass .bc files to rexec as sources");
    } else if (magic != llvm::file_magic::unknown) {
      problem = CheckObject(*member, member_what, host);
    }
    if (!problem.ok()) break;
  }
  if (error) {
    std::string reason = llvm::toString(std::move(error));
    if (problem.ok()) problem = Refuse(what, absl::StrCat("a malformed archive (", reason, ")"));
  }
  return problem;
}

}  // namespace

absl::Status CheckShippedLibrary(const LibraryInput& library, std::string_view host_triple) {
  const llvm::Triple host{llvm::StringRef(host_triple)};
  const llvm::MemoryBufferRef bytes(library.contents, library.name);
  switch (library.kind) {
    case LinkedLibrary::Kind::kArchive:
      return CheckArchive(bytes, library.name, host);
    case LinkedLibrary::Kind::kObject:
      return CheckObject(bytes, library.name, host);
    case LinkedLibrary::Kind::kSystem:
      break;
  }
  return absl::OkStatus();
}

}  // namespace rexec
