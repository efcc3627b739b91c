// ContentHash: the identity of a module on both sides of the wire.
//
// A module is named by the BLAKE3-256 hash of its bitcode bytes. The client computes it, the
// worker recomputes it on upload and refuses a mismatch, and every cache (client bitcode cache,
// worker module store, worker object cache) is keyed by it. Hex is for logs and file names only;
// the wire carries the 32 raw bytes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rexec {

class ContentHash {
 public:
  static constexpr size_t kSize = 32;

  static ContentHash Of(std::string_view bytes);
  // Raw bytes as received from the wire; nullopt unless exactly kSize bytes.
  static std::optional<ContentHash> FromBytes(std::string_view bytes);
  static std::optional<ContentHash> FromHex(std::string_view hex);

  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  std::string hex() const;
  // The first 12 hex digits: enough to tell modules apart in a log line.
  std::string short_hex() const { return hex().substr(0, 12); }

  friend bool operator==(const ContentHash&, const ContentHash&) = default;
  friend auto operator<=>(const ContentHash&, const ContentHash&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const ContentHash& c) {
    return H::combine(std::move(h), c.bytes());
  }

 private:
  std::array<uint8_t, kSize> bytes_{};
};

// Incremental hashing for keys built from several parts (e.g. bitcode hash + codegen options).
class ContentHasher {
 public:
  ContentHasher();
  ~ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;

  // Each part is length-prefixed so that ("ab","c") and ("a","bc") hash differently.
  ContentHasher& Add(std::string_view part);
  ContentHash Finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The hash of a byte stream fed in pieces: the same ContentHash as ContentHash::Of of all the
// pieces at once (files too large to hold in memory are hashed this way on both sides).
class ContentStreamHasher {
 public:
  ContentStreamHasher();
  ~ContentStreamHasher();
  ContentStreamHasher(const ContentStreamHasher&) = delete;
  ContentStreamHasher& operator=(const ContentStreamHasher&) = delete;

  void Update(std::string_view bytes);
  ContentHash Finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rexec
