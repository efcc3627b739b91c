// StateSchema: a command's state type, known only from its descriptor.
//
// A client that runs a command it has not compiled into itself (rexec-send --set, --list) has
// no C++ type for it, only the descriptor REXEC_COMMAND stored in the module, such as
// `{message:string,xs:vector<f64>,inner:{a:i32}}` (grammar in include/rexec/command.h). This
// parses it into a type tree that state_json.h walks to encode and decode states exactly as the
// templates of command.h do. Descriptors come from modules, which may be hostile: length and
// nesting are bounded and errors say where parsing stopped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rexec {

struct StateType {
  enum class Kind {
    kBool, kSigned, kUnsigned, kFloat, kString, kEnum,            // scalars
    kVector, kSet, kArray, kMap, kUnorderedMap, kOptional,         // containers
    kPair, kTuple, kStruct,                                        // products
  };
  Kind kind = Kind::kBool;
  int bits = 0;              // integers and floats; an enum's is its underlying type's
  bool enum_signed = false;  // an enum's underlying signedness
  uint64_t array_size = 0;
  std::vector<StateType> children;       // element, key/value, members or fields
  std::vector<std::string> field_names;  // kStruct: one per child
  std::string text;                      // this type's descriptor
  size_t min_bytes = 1;                  // the fewest bytes a value encodes to
};

class StateSchema {
 public:
  static constexpr size_t kMaxDescriptorBytes = 64 * 1024;
  static constexpr int kMaxDepth = 64;

  // The descriptor must describe a struct, as a command's always does.
  static absl::StatusOr<StateSchema> Parse(std::string_view descriptor);

  // FNV-1a 64 of the descriptor: the fingerprint that heads the command's states.
  uint64_t fingerprint() const { return fingerprint_; }

  struct Field {
    std::string name;
    std::string type;  // its descriptor, e.g. "vector<f64>"
  };
  const std::vector<Field>& fields() const { return fields_; }
  const StateType& root() const { return root_; }

 private:
  StateType root_;
  std::vector<Field> fields_;
  uint64_t fingerprint_ = 0;
};

}  // namespace rexec
