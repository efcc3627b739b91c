// What the worker links into one module template: a module and the libraries its job asked for
// (the wire's Job.libraries, as request_checks.h checked them).
//
// Linked code is identified by both: the same bitcode linked with another archive is other
// code, so the code cache keys templates by LinkRequest::Key(), not by the module hash. The
// object cache stays keyed by the bitcode alone (its machine code does not depend on the
// libraries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rexec/content_hash.h"

namespace rexec {

struct LinkedLibrary {
  enum class Kind : uint8_t { kArchive = 1, kObject = 2, kSystem = 3 };
  Kind kind = Kind::kArchive;
  std::string name;  // an archive's or object's file name (messages only); NAME for kSystem
  ContentHash hash;  // kArchive, kObject: the blob in the module store
  std::string path;  // kSystem: the worker's own libNAME.so, found in its system directories
};

// A library as the linker takes it: an archive's or object's bytes, or a system library's path.
struct LibraryInput {
  LinkedLibrary::Kind kind = LinkedLibrary::Kind::kArchive;
  std::string name;
  std::string contents;  // the bytes; for kSystem, the path
};

struct LinkRequest {
  ContentHash module;
  std::vector<LinkedLibrary> libraries;  // in search order

  // The module's hash when there are no libraries; else a hash of the module and of each
  // library's kind and identity (content hash, or name for a system library), in order.
  ContentHash Key() const;
};

}  // namespace rexec
