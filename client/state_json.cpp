#include "client/state_json.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "rexec/command.h"

namespace rexec {
namespace {

using Json = nlohmann::ordered_json;  // fields print in declaration order
using Kind = StateType::Kind;

std::string Describe(const std::string& path) {
  return path.empty() ? "the state" : absl::StrCat("field '", path, "'");
}

std::string Join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", std::string(name));
}

std::string Index(const std::string& path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

// ---- JSON to bytes --------------------------------------------------------------------------

class Encoder {
 public:
  absl::Status Value(const StateType& type, const Json& json, const std::string& path) {
    auto mismatch = [&] {
      return absl::InvalidArgumentError(absl::StrCat(Describe(path), ": expected ", type.text,
                                                     ", got ", json.dump()));
    };
    switch (type.kind) {
      case Kind::kBool:
        if (!json.is_boolean()) return mismatch();
        out_.Byte(json.get<bool>() ? 1 : 0);
        return absl::OkStatus();
      case Kind::kSigned:
      case Kind::kUnsigned:
      case Kind::kEnum:
        return Integer(type, json, path);
      case Kind::kFloat:
        return Float(type, json, path);
      case Kind::kString: {
        if (!json.is_string()) return mismatch();
        const std::string& text = json.get_ref<const std::string&>();
        Varint(text.size());
        out_.Bytes(text.data(), text.size());
        return absl::OkStatus();
      }
      case Kind::kVector:
      case Kind::kSet:
      case Kind::kArray: {
        if (!json.is_array()) return mismatch();
        if (type.kind == Kind::kArray) {
          if (json.size() != type.array_size) {
            return absl::InvalidArgumentError(absl::StrCat(
                Describe(path), ": expected ", type.array_size, " elements, got ", json.size()));
          }
        } else {
          Varint(json.size());
        }
        for (size_t i = 0; i < json.size(); ++i) {
          if (absl::Status s = Value(type.children[0], json[i], Index(path, i)); !s.ok()) return s;
        }
        return absl::OkStatus();
      }
      case Kind::kMap:
      case Kind::kUnorderedMap:
        return Map(type, json, path);
      case Kind::kOptional:
        if (json.is_null()) {
          out_.Byte(0);
          return absl::OkStatus();
        }
        out_.Byte(1);
        return Value(type.children[0], json, path);
      case Kind::kPair:
      case Kind::kTuple: {
        if (!json.is_array() || json.size() != type.children.size()) return mismatch();
        for (size_t i = 0; i < json.size(); ++i) {
          if (absl::Status s = Value(type.children[i], json[i], Index(path, i)); !s.ok()) return s;
        }
        return absl::OkStatus();
      }
      case Kind::kStruct:
        return Struct(type, json, path);
    }
    return mismatch();
  }

  void Fixed64(uint64_t value) { out_.Fixed64(value); }
  void Varint(uint64_t value) { out_.Varint(value); }
  std::string Take() { return out_.Take(); }

 private:
  absl::Status Integer(const StateType& type, const Json& json, const std::string& path) {
    const bool is_signed = type.kind == Kind::kSigned || (type.kind == Kind::kEnum && type.enum_signed);
    const int bits = type.bits;
    if (!json.is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(path), ": expected ", type.text,
                                                     " (an integer), got ", json.dump()));
    }
    auto out_of_range = [&] {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(path), ": ", json.dump(), " does not fit in ", type.text));
    };
    if (is_signed) {
      if (json.is_number_unsigned() &&
          json.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return out_of_range();
      }
      int64_t value = json.get<int64_t>();
      int64_t max = bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
      int64_t min = bits == 64 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (bits - 1));
      if (value < min || value > max) return out_of_range();
      Varint((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
    } else {
      if (!json.is_number_unsigned()) return out_of_range();
      uint64_t value = json.get<uint64_t>();
      uint64_t max = bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
      if (value > max) return out_of_range();
      Varint(value);
    }
    return absl::OkStatus();
  }

  absl::Status Float(const StateType& type, const Json& json, const std::string& path) {
    double value;
    if (json.is_number()) {
      value = json.get<double>();
    } else if (json == "nan") {
      value = std::numeric_limits<double>::quiet_NaN();
    } else if (json == "inf") {
      value = std::numeric_limits<double>::infinity();
    } else if (json == "-inf") {
      value = -std::numeric_limits<double>::infinity();
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(path), ": expected ", type.text, ", got ", json.dump()));
    }
    char bytes[8];
    if (type.bits == 32) {
      float narrow = static_cast<float>(value);
      std::memcpy(bytes, &narrow, 4);
      out_.Bytes(bytes, 4);
    } else {
      std::memcpy(bytes, &value, 8);
      out_.Bytes(bytes, 8);
    }
    return absl::OkStatus();
  }

  absl::Status Map(const StateType& type, const Json& json, const std::string& path) {
    const StateType& key = type.children[0];
    const StateType& value = type.children[1];
    if (key.kind == Kind::kString && json.is_object()) {
      Varint(json.size());
      for (const auto& [name, item] : json.items()) {
        if (absl::Status s = Value(key, Json(name), path); !s.ok()) return s;
        if (absl::Status s = Value(value, item, Join(path, name)); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    if (!json.is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(path), ": expected ", type.text,
          key.kind == Kind::kString ? " (an object)" : " (an array of [key, value] pairs)",
          ", got ", json.dump()));
    }
    Varint(json.size());
    for (size_t i = 0; i < json.size(); ++i) {
      const Json& pair = json[i];
      if (!pair.is_array() || pair.size() != 2) {
        return absl::InvalidArgumentError(
            absl::StrCat(Describe(Index(path, i)), ": expected a [key, value] pair"));
      }
      if (absl::Status s = Value(key, pair[0], Index(path, i)); !s.ok()) return s;
      if (absl::Status s = Value(value, pair[1], Index(path, i)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Struct(const StateType& type, const Json& json, const std::string& path) {
    if (!json.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(path), ": expected an object for ", type.text));
    }
    for (const auto& [name, item] : json.items()) {
      bool known = false;
      for (const std::string& field : type.field_names) known |= field == name;
      if (!known) {
        std::string fields;
        for (const std::string& field : type.field_names) {
          absl::StrAppend(&fields, fields.empty() ? "" : ", ", field);
        }
        return absl::InvalidArgumentError(absl::StrCat("unknown field '", Join(path, name),
                                                       "'; the fields are: ", fields));
      }
    }
    // Present fields, in declaration order whatever the JSON's order.
    Varint(json.size());
    for (size_t i = 0; i < type.children.size(); ++i) {
      auto item = json.find(type.field_names[i]);
      if (item == json.end()) continue;
      Varint(i);
      if (absl::Status s = Value(type.children[i], *item, Join(path, type.field_names[i]));
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  detail::Writer out_;  // the byte-level primitives of rexec/command.h: same bytes, one place
};

// ---- bytes to JSON --------------------------------------------------------------------------

class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : in_(bytes) {}

  size_t remaining() const { return in_.remaining(); }

  absl::Status Fixed64(uint64_t& out) {
    return in_.Fixed64(out) ? absl::OkStatus()
                            : Fail("state is too short to hold a fingerprint");
  }

  absl::Status Value(const StateType& type, Json& out, int depth) {
    if (depth > StateSchema::kMaxDepth) return Fail("state is nested too deeply");
    switch (type.kind) {
      case Kind::kBool: {
        uint8_t byte = 0;
        if (absl::Status s = Byte(byte); !s.ok()) return s;
        if (byte > 1) return Fail("bool is neither 0 nor 1");
        out = byte == 1;
        return absl::OkStatus();
      }
      case Kind::kSigned:
      case Kind::kUnsigned:
      case Kind::kEnum:
        return Integer(type, out);
      case Kind::kFloat:
        return Float(type, out);
      case Kind::kString: {
        uint64_t size = 0;
        if (absl::Status s = Count(size, 1); !s.ok()) return s;
        std::string text(size, '\0');
        if (absl::Status s = Bytes(text.data(), size); !s.ok()) return s;
        out = std::move(text);
        return absl::OkStatus();
      }
      case Kind::kVector:
      case Kind::kSet:
      case Kind::kArray: {
        uint64_t count = type.array_size;
        if (type.kind != Kind::kArray) {
          if (absl::Status s = Count(count, type.children[0].min_bytes); !s.ok()) return s;
        }
        out = Json::array();
        // Compared as values, as the C++ decoder compares them: dump() would throw on a string
        // that is not UTF-8, which any std::string may be.
        std::set<Json> seen;
        for (uint64_t i = 0; i < count; ++i) {
          Json element;
          if (absl::Status s = Value(type.children[0], element, depth + 1); !s.ok()) return s;
          if (type.kind == Kind::kSet && !seen.insert(element).second) {
            return Fail("duplicate element in a set");
          }
          out.push_back(std::move(element));
        }
        return absl::OkStatus();
      }
      case Kind::kMap:
      case Kind::kUnorderedMap:
        return Map(type, out, depth);
      case Kind::kOptional: {
        uint8_t present = 0;
        if (absl::Status s = Byte(present); !s.ok()) return s;
        if (present > 1) return Fail("bool is neither 0 nor 1");
        if (present == 0) {
          out = nullptr;
          return absl::OkStatus();
        }
        return Value(type.children[0], out, depth + 1);
      }
      case Kind::kPair:
      case Kind::kTuple:
        out = Json::array();
        for (const StateType& member : type.children) {
          Json element;
          if (absl::Status s = Value(member, element, depth + 1); !s.ok()) return s;
          out.push_back(std::move(element));
        }
        return absl::OkStatus();
      case Kind::kStruct:
        return Struct(type, out, depth);
    }
    return Fail("unknown type");
  }

 private:
  static absl::Status Fail(std::string_view message) {
    return absl::InvalidArgumentError(std::string(message));
  }

  // The byte-level reads of rexec/command.h's Reader: the same bounds, one place.
  absl::Status Checked(bool ok) { return ok ? absl::OkStatus() : Fail(in_.error()); }
  absl::Status Byte(uint8_t& out) { return Checked(in_.Byte(out)); }
  absl::Status Varint(uint64_t& out) { return Checked(in_.Varint(out)); }
  absl::Status Count(uint64_t& count, size_t min_bytes) {
    return Checked(in_.Count(count, min_bytes));
  }
  absl::Status Bytes(void* out, size_t size) { return Checked(in_.Bytes(out, size)); }

  absl::Status Integer(const StateType& type, Json& out) {
    const bool is_signed = type.kind == Kind::kSigned || (type.kind == Kind::kEnum && type.enum_signed);
    uint64_t raw = 0;
    if (absl::Status s = Varint(raw); !s.ok()) return s;
    const int bits = type.bits;
    if (is_signed) {
      int64_t value = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      int64_t max = bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
      int64_t min = bits == 64 ? std::numeric_limits<int64_t>::min() : -(int64_t{1} << (bits - 1));
      if (value < min || value > max) return Fail("integer out of range for its field");
      out = value;
    } else {
      uint64_t max = bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
      if (raw > max) return Fail("integer out of range for its field");
      out = raw;
    }
    return absl::OkStatus();
  }

  absl::Status Float(const StateType& type, Json& out) {
    double value = 0;
    if (type.bits == 32) {
      float narrow = 0;
      if (absl::Status s = Bytes(&narrow, 4); !s.ok()) return s;
      value = narrow;
    } else if (absl::Status s = Bytes(&value, 8); !s.ok()) {
      return s;
    }
    if (std::isnan(value)) {
      out = "nan";
    } else if (std::isinf(value)) {
      out = value > 0 ? "inf" : "-inf";
    } else {
      out = value;
    }
    return absl::OkStatus();
  }

  absl::Status Map(const StateType& type, Json& out, int depth) {
    const StateType& key = type.children[0];
    const StateType& value = type.children[1];
    uint64_t count = 0;
    if (absl::Status s = Count(count, key.min_bytes + value.min_bytes); !s.ok()) return s;
    const bool as_object = key.kind == Kind::kString;
    out = as_object ? Json::object() : Json::array();
    std::set<Json> seen;  // as in Value(): compared as values
    for (uint64_t i = 0; i < count; ++i) {
      Json k, v;
      if (absl::Status s = Value(key, k, depth + 1); !s.ok()) return s;
      if (absl::Status s = Value(value, v, depth + 1); !s.ok()) return s;
      if (!seen.insert(k).second) return Fail("duplicate key in a map");
      if (as_object) {
        out[k.get<std::string>()] = std::move(v);
      } else {
        out.push_back(Json::array({std::move(k), std::move(v)}));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Struct(const StateType& type, Json& out, int depth) {
    uint64_t present = 0;
    if (absl::Status s = Varint(present); !s.ok()) return s;
    if (present > type.children.size()) return Fail("more fields than the struct has");
    out = Json::object();
    uint64_t next = 0;
    for (uint64_t i = 0; i < present; ++i) {
      uint64_t index = 0;
      if (absl::Status s = Varint(index); !s.ok()) return s;
      if (index >= type.children.size() || index < next) return Fail("bad field index");
      next = index + 1;
      Json field;
      if (absl::Status s = Value(type.children[index], field, depth + 1); !s.ok()) return s;
      out[type.field_names[index]] = std::move(field);
    }
    return absl::OkStatus();
  }

  detail::Reader in_;
};

absl::StatusOr<std::string> Encode(const StateSchema& schema, const Json& object) {
  Encoder encoder;
  encoder.Fixed64(schema.fingerprint());
  if (absl::Status s = encoder.Value(schema.root(), object, ""); !s.ok()) return s;
  return encoder.Take();
}

}  // namespace

absl::StatusOr<std::string> EncodeStateFromJson(const StateSchema& schema,
                                                std::string_view json_object) {
  Json object = Json::parse(json_object, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return absl::InvalidArgumentError("the state is not valid JSON");
  return Encode(schema, object);
}

absl::StatusOr<std::string> EncodeStateFromAssignments(
    const StateSchema& schema, const std::vector<std::string>& assignments) {
  Json object = Json::object();
  for (const std::string& assignment : assignments) {
    size_t equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", assignment, "' is not an assignment (expected FIELD=VALUE)"));
    }
    std::string name = assignment.substr(0, equals);
    std::string text = assignment.substr(equals + 1);
    if (object.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat("field '", name, "' is set twice"));
    }
    Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      const StateSchema::Field* field = nullptr;
      for (const StateSchema::Field& candidate : schema.fields()) {
        if (candidate.name == name) field = &candidate;
      }
      if (field == nullptr || field->type != "string") {
        return absl::InvalidArgumentError(
            absl::StrCat("the value of '", name, "' is not valid JSON: ", text));
      }
      value = text;  // a bare word for a string field
    }
    object[name] = std::move(value);
  }
  return Encode(schema, object);
}

absl::StatusOr<std::string> DecodeStateToJson(const StateSchema& schema, std::string_view state,
                                              int indent) {
  Decoder decoder(state);
  uint64_t fingerprint = 0;
  if (absl::Status s = decoder.Fixed64(fingerprint); !s.ok()) return s;
  if (fingerprint != schema.fingerprint()) {
    char text[160];
    std::snprintf(text, sizeof text,
                  "state fingerprint %016llx does not match the command's %016llx",
                  static_cast<unsigned long long>(fingerprint),
                  static_cast<unsigned long long>(schema.fingerprint()));
    return absl::InvalidArgumentError(text);
  }
  Json object;
  if (absl::Status s = decoder.Value(schema.root(), object, 0); !s.ok()) return s;
  if (decoder.remaining() != 0) return absl::InvalidArgumentError("state has trailing bytes");
  return object.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace rexec
