#include "rexec/content_hash.h"

#include <llvm/Support/BLAKE3.h>

#include <cstring>

#include "absl/strings/escaping.h"

namespace rexec {
namespace {

ContentHash FromResult(const llvm::BLAKE3Result<ContentHash::kSize>& result) {
  auto hash = ContentHash::FromBytes(
      std::string_view(reinterpret_cast<const char*>(result.data()), result.size()));
  return *hash;
}

}  // namespace

ContentHash ContentHash::Of(std::string_view bytes) {
  llvm::BLAKE3 hasher;
  hasher.update(llvm::StringRef(bytes.data(), bytes.size()));
  return FromResult(hasher.final());
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
  llvm::BLAKE3 hasher;
};

ContentHasher::ContentHasher() : state_(std::make_unique<State>()) {}
ContentHasher::~ContentHasher() = default;

ContentHasher& ContentHasher::Add(std::string_view part) {
  uint64_t size = part.size();
  state_->hasher.update(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(&size), sizeof size));
  state_->hasher.update(llvm::StringRef(part.data(), part.size()));
  return *this;
}

ContentHash ContentHasher::Finish() const { return FromResult(state_->hasher.final()); }

struct ContentStreamHasher::State {
  llvm::BLAKE3 hasher;
};

ContentStreamHasher::ContentStreamHasher() : state_(std::make_unique<State>()) {}
ContentStreamHasher::~ContentStreamHasher() = default;

void ContentStreamHasher::Update(std::string_view bytes) {
  state_->hasher.update(llvm::StringRef(bytes.data(), bytes.size()));
}

ContentHash ContentStreamHasher::Finish() const { return FromResult(state_->hasher.final()); }

}  // namespace rexec
