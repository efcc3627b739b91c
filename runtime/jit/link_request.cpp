#include "runtime/jit/link_request.h"

namespace rexec {

ContentHash LinkRequest::Key() const {
  if (libraries.empty()) return module;
  ContentHasher key;
  key.Add("rexec linked module 1").Add(module.bytes());
  for (const LinkedLibrary& library : libraries) {
    key.Add(std::string(1, static_cast<char>(library.kind)));
    key.Add(library.kind == LinkedLibrary::Kind::kSystem ? std::string_view(library.name)
                                                         : library.hash.bytes());
  }
  return key.Finish();
}

}  // namespace rexec
