#include "rexec/content_hash.h"

// LLVM's BLAKE3 through its C interface, linked from the static Support archive: hashing must not
// map libLLVM into processes that do nothing else with LLVM (the client on a warm run, the worker).
#include <llvm-c/blake3.h>

#include <cstring>

#include "absl/strings/escaping.h"

namespace rexec {
namespace {

ContentHash Finalize(const llvm_blake3_hasher& hasher) {
  uint8_t digest[ContentHash::kSize];
  llvm_blake3_hasher_finalize(&hasher, digest, sizeof digest);
  return *ContentHash::FromBytes(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace

ContentHash ContentHash::Of(std::string_view bytes) {
  llvm_blake3_hasher hasher;
  llvm_blake3_hasher_init(&hasher);
  llvm_blake3_hasher_update(&hasher, bytes.data(), bytes.size());
  return Finalize(hasher);
}

std::optional<ContentHash> ContentHash::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) return std::nullopt;
  ContentHash hash;
  std::memcpy(hash.bytes_.data(), bytes.data(), kSize);
  return hash;
}

std::optional<ContentHash> ContentHash::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) return std::nullopt;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return FromBytes(absl::HexStringToBytes(absl::string_view(hex.data(), hex.size())));
}

std::string ContentHash::hex() const {
  return absl::BytesToHexString(absl::string_view(bytes().data(), bytes().size()));
}

struct ContentHasher::State {
  llvm_blake3_hasher hasher;
};

ContentHasher::ContentHasher() : state_(std::make_unique<State>()) {
  llvm_blake3_hasher_init(&state_->hasher);
}
ContentHasher::~ContentHasher() = default;

ContentHasher& ContentHasher::Add(std::string_view part) {
  uint64_t size = part.size();
  llvm_blake3_hasher_update(&state_->hasher, &size, sizeof size);
  llvm_blake3_hasher_update(&state_->hasher, part.data(), part.size());
  return *this;
}

ContentHash ContentHasher::Finish() const { return Finalize(state_->hasher); }

struct ContentStreamHasher::State {
  llvm_blake3_hasher hasher;
};

ContentStreamHasher::ContentStreamHasher() : state_(std::make_unique<State>()) {
  llvm_blake3_hasher_init(&state_->hasher);
}
ContentStreamHasher::~ContentStreamHasher() = default;

void ContentStreamHasher::Update(std::string_view bytes) {
  llvm_blake3_hasher_update(&state_->hasher, bytes.data(), bytes.size());
}

ContentHash ContentStreamHasher::Finish() const { return Finalize(state_->hasher); }

}  // namespace rexec
