#include "runtime/jit/remembered_target.h"

#include <sys/stat.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rexec/build_config.h"

namespace rexec {
namespace {

// The first processor's lines of /proc/cpuinfo without those that change while it runs.
std::string FirstProcessor() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string block;
  for (std::string line; std::getline(cpuinfo, line) && !line.empty();) {
    if (absl::StartsWith(line, "cpu MHz") || absl::StartsWith(line, "bogomips")) continue;
    absl::StrAppend(&block, line, "\n");
  }
  return block;
}

}  // namespace

ContentHash RememberedTargetKey(const std::string& server_path) {
  struct stat binary {};
  stat(server_path.c_str(), &binary);  // a missing server gives zeros: it will not start anyway
  return ContentHasher()
      .Add("rexec remembered target 1")
      .Add(kRexecVersion)
      .Add(kLlvmVersion)
      .Add(server_path)
      .Add(absl::StrCat(binary.st_size, " ", binary.st_mtim.tv_sec, ".", binary.st_mtim.tv_nsec,
                        " ", binary.st_ino, " ", binary.st_dev))
      .Add(FirstProcessor())
      .Finish();
}

}  // namespace rexec
