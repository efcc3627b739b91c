#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/fd_io.h"

namespace rexec {

absl::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents) {
  std::string temp = absl::StrCat(path.string(), ".tmp-XXXXXX");
  int fd = mkstemp(temp.data());
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create ", temp, ": ", std::strerror(errno)));
  }
  if (!WriteFully(fd, contents.data(), contents.size())) {
    int error = errno;
    close(fd);
    unlink(temp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", temp, ": ", std::strerror(error)));
  }
  close(fd);
  if (rename(temp.c_str(), path.c_str()) != 0) {
    int error = errno;
    unlink(temp.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", temp, " to ", path.string(), ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

std::optional<std::string> ReadWholeFile(const std::filesystem::path& path, uint64_t max_bytes) {
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error);
  if (error || size > max_bytes) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string contents(size, '\0');
  if (!in.read(contents.data(), static_cast<std::streamsize>(size))) return std::nullopt;
  return contents;
}

}  // namespace rexec
