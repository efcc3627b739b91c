// Command states as JSON, for tools that have a command's descriptor but not its C++ type.
//
// JSON mapping: bool <-> true/false; integers <-> numbers (range-checked against the field's
// width); f32/f64 <-> numbers, and "nan", "inf", "-inf" for non-finite values; string <->
// string; enum <-> its integer; vector, set, array, pair, tuple <-> array; optional <-> null or
// the value; map with string keys <-> object, with other keys <-> array of [key, value]; struct
// <-> object. The bytes are exactly what rexec::encode_state produces for the same values, and
// decoding is as strict and as bounded as rexec::decode_state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/state_schema.h"

namespace rexec {

// A JSON object holding some of the fields -> a state with just those fields (the others keep
// the class's defaults on the worker). Nested structs may be partial too.
absl::StatusOr<std::string> EncodeStateFromJson(const StateSchema& schema,
                                                std::string_view json_object);

// "name=value" assignments (rexec-send --set): each value is JSON, or, for a string field, any
// text that is not valid JSON. A field set twice is an error.
absl::StatusOr<std::string> EncodeStateFromAssignments(const StateSchema& schema,
                                                       const std::vector<std::string>& assignments);

// A whole state -> a JSON object (indent < 0: one line).
absl::StatusOr<std::string> DecodeStateToJson(const StateSchema& schema, std::string_view state,
                                              int indent = -1);

}  // namespace rexec
