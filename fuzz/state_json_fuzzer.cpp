// Fuzz target: command states as JSON (client/state_json.h), as rexec-send uses them with a
// descriptor read from a module (which may be hostile), JSON and --set values from its user, and
// a state returned by a worker (which runs hostile code).
//
// Input: a descriptor, a newline, then a payload that is tried three ways: as a JSON object of
// fields, as --set assignments (one per line), and as a state (after the descriptor's
// fingerprint). Round trips must hold: a state encoded from JSON decodes again (unless the JSON
// repeated a set element or map key, which the worker refuses too), and a state decoded to JSON
// encodes again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "client/state_json.h"
#include "client/state_schema.h"
#include "rexec/command.h"

namespace {

bool IsDuplicateError(const absl::Status& status) {
  return status.message().find("duplicate") != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  absl::StatusOr<rexec::StateSchema> schema = rexec::StateSchema::Parse(input.substr(0, newline));
  if (!schema.ok()) return 0;
  std::string_view payload = input.substr(newline + 1);

  absl::StatusOr<std::string> encoded = rexec::EncodeStateFromJson(*schema, payload);
  if (encoded.ok()) {
    absl::StatusOr<std::string> decoded = rexec::DecodeStateToJson(*schema, *encoded);
    if (!decoded.ok() && !IsDuplicateError(decoded.status())) std::abort();
  }

  std::vector<std::string> assignments;
  for (size_t start = 0; start <= payload.size();) {
    size_t end = payload.find('\n', start);
    if (end == std::string_view::npos) end = payload.size();
    assignments.emplace_back(payload.substr(start, end - start));
    start = end + 1;
  }
  (void)rexec::EncodeStateFromAssignments(*schema, assignments);

  rexec::detail::Writer state;
  state.Fixed64(schema->fingerprint());
  state.Bytes(payload.data(), payload.size());
  absl::StatusOr<std::string> json = rexec::DecodeStateToJson(*schema, state.Take());
  if (json.ok()) {
    absl::StatusOr<std::string> again = rexec::EncodeStateFromJson(*schema, *json);
    if (!again.ok()) std::abort();
  }
  return 0;
}
