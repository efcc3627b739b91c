#include "runtime/jit/template_protocol.h"

#include <cstring>

#include "absl/strings/str_split.h"
#include "core/fd_io.h"

namespace rexec::template_protocol {

// One byte for main(), then the command names, each ended by a NUL (names are C identifiers).
std::string LinkedEntries::Encode() const {
  std::string bytes(1, has_main ? '\1' : '\0');
  for (const std::string& name : commands) {
    bytes += name;
    bytes += '\0';
  }
  return bytes;
}

absl::StatusOr<LinkedEntries> LinkedEntries::Decode(std::string_view bytes) {
  if (bytes.empty() || bytes[0] > '\1' || (bytes.size() > 1 && bytes.back() != '\0')) {
    return absl::DataLossError("the module template described its module wrongly");
  }
  LinkedEntries entries;
  entries.has_main = bytes[0] == '\1';
  bytes.remove_prefix(1);
  if (bytes.empty()) return entries;
  bytes.remove_suffix(1);
  for (absl::string_view name : absl::StrSplit(absl::string_view(bytes.data(), bytes.size()), '\0')) {
    entries.commands.emplace_back(name);
  }
  return entries;
}

std::string EncodeLibrary(const LibraryInput& library) {
  std::string bytes(1, static_cast<char>(library.kind));
  const uint32_t name_length = static_cast<uint32_t>(library.name.size());
  bytes.append(reinterpret_cast<const char*>(&name_length), sizeof name_length);
  bytes += library.name;
  bytes += library.contents;
  return bytes;
}

absl::StatusOr<LibraryInput> DecodeLibrary(std::string_view bytes) {
  uint32_t name_length = 0;
  if (bytes.size() < 1 + sizeof name_length) {
    return absl::DataLossError("a library frame was cut short");
  }
  LibraryInput library;
  library.kind = static_cast<LinkedLibrary::Kind>(bytes[0]);
  if (library.kind != LinkedLibrary::Kind::kArchive &&
      library.kind != LinkedLibrary::Kind::kObject &&
      library.kind != LinkedLibrary::Kind::kSystem) {
    return absl::DataLossError("a library frame of an unknown kind");
  }
  std::memcpy(&name_length, bytes.data() + 1, sizeof name_length);
  bytes.remove_prefix(1 + sizeof name_length);
  if (bytes.size() < name_length) return absl::DataLossError("a library frame was cut short");
  library.name = std::string(bytes.substr(0, name_length));
  library.contents = std::string(bytes.substr(name_length));
  return library;
}

std::string EncodeArguments(const std::vector<std::string>& argv) {
  std::string bytes;
  auto append_count = [&bytes](size_t count) {
    const uint32_t value = static_cast<uint32_t>(count);
    bytes.append(reinterpret_cast<const char*>(&value), sizeof value);
  };
  append_count(argv.size());
  for (const std::string& arg : argv) {
    append_count(arg.size());
    bytes += arg;
  }
  return bytes;
}

absl::StatusOr<std::vector<std::string>> ReadArguments(int fd, size_t max_bytes) {
  auto read_count = [fd](uint32_t& value) { return ReadFully(fd, &value, sizeof value); };
  uint32_t count = 0;
  if (!read_count(count)) return absl::DataLossError("no arguments arrived");
  std::vector<std::string> argv;
  size_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t length = 0;
    if (!read_count(length)) return absl::DataLossError("the arguments were cut short");
    total += sizeof length + length;
    if (total > max_bytes) return absl::OutOfRangeError("the arguments are too large");
    std::string& arg = argv.emplace_back(length, '\0');
    if (!ReadFully(fd, arg.data(), length)) return absl::DataLossError("the arguments were cut short");
  }
  return argv;
}

}  // namespace rexec::template_protocol
