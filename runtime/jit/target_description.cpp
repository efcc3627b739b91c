#include "runtime/jit/target_description.h"

#include <vector>

#include "absl/strings/str_split.h"

namespace rexec {
namespace {

constexpr size_t kFields = 5;

}  // namespace

std::string TargetDescription::Encode() const {
  std::string bytes;
  for (const std::string* field : {&triple, &data_layout, &cpu, &features, &codegen_fingerprint}) {
    bytes += *field;
    bytes += '\0';
  }
  return bytes;
}

absl::StatusOr<TargetDescription> TargetDescription::Decode(std::string_view bytes) {
  if (bytes.empty() || bytes.back() != '\0') {
    return absl::DataLossError("the compile server described its target wrongly");
  }
  bytes.remove_suffix(1);
  std::vector<std::string> fields =
      absl::StrSplit(absl::string_view(bytes.data(), bytes.size()), '\0');
  if (fields.size() != kFields || fields[0].empty() || fields[4].empty()) {
    return absl::DataLossError("the compile server described its target wrongly");
  }
  return TargetDescription{std::move(fields[0]), std::move(fields[1]), std::move(fields[2]),
                           std::move(fields[3]), std::move(fields[4])};
}

}  // namespace rexec
