// Fuzz target: a command's state, decoded by the code REXEC_COMMAND puts in every module
// (include/rexec/command.h), as an executor does with the state of each job it runs.
//
// The input is the state, fingerprint included. The command type below has a field of every
// kind the format knows, nested, so every decoder is reachable. A state that decodes must come
// back out of the entry point as a state that decodes again and encodes to as many bytes (not
// necessarily the same ones: an unordered_map's order may change).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "rexec/command.h"

namespace {

enum class Mode : int16_t { kA = -3, kB = 4 };

struct FuzzLeaf {
  int64_t id = 0;
  std::optional<std::string> label;
  std::array<uint8_t, 3> bytes{};
  REXEC_FIELDS(id, label, bytes)
};

struct FuzzCommand {
  bool flag = false;
  int8_t tiny = 0;
  uint16_t small = 0;
  int32_t number = 0;
  uint64_t big = 0;
  float ratio = 0;
  double value = 0;
  Mode mode = Mode::kA;
  std::string text;
  std::vector<bool> bits;
  std::vector<std::vector<int32_t>> grid;
  std::set<std::string> tags;
  std::map<int32_t, FuzzLeaf> by_id;
  std::unordered_map<std::string, double> weights;
  std::optional<FuzzLeaf> maybe;
  std::pair<uint8_t, std::string> pair;
  std::tuple<bool, int64_t, std::vector<std::string>> tuple;
  std::vector<std::optional<std::vector<FuzzLeaf>>> nested;
  int main() { return 0; }
  REXEC_FIELDS(flag, tiny, small, number, big, ratio, value, mode, text, bits, grid, tags, by_id,
               weights, maybe, pair, tuple, nested)
};

struct Returned {
  std::string state;
  bool failed = false;
};

}  // namespace

REXEC_COMMAND(FuzzCommand)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Returned returned;
  rexec_command_call call{};
  call.state_in = data;
  call.state_in_size = size;
  call.context = &returned;
  call.state_out = [](void* context, const unsigned char* bytes, size_t length) {
    static_cast<Returned*>(context)->state.assign(reinterpret_cast<const char*>(bytes), length);
  };
  call.failure = [](void* context, int, const char*, const char*) {
    static_cast<Returned*>(context)->failed = true;
  };
  rexec::detail::RunCommand<FuzzCommand>(&call);
  if (returned.failed) return 0;

  // What main() sends back is what a client decodes.
  FuzzCommand decoded;
  if (!rexec::decode_state(returned.state, decoded)) std::abort();
  if (rexec::encode_state(decoded).size() != returned.state.size()) std::abort();
  return 0;
}
