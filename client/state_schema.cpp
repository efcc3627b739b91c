#include "client/state_schema.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "rexec/command.h"

namespace rexec {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<StateType> Type(int depth) {
    if (depth > StateSchema::kMaxDepth) return Error("types nest too deeply");
    const size_t start = at_;
    StateType type;
    if (Peek() == '{') {
      absl::Status status = Struct(type, depth);
      if (!status.ok()) return status;
    } else {
      std::string word = Word();
      absl::Status status = Named(word, type, depth);
      if (!status.ok()) return status;
    }
    type.text = std::string(text_.substr(start, at_ - start));
    return type;
  }

  bool AtEnd() const { return at_ == text_.size(); }
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("bad state descriptor at offset ", at_, ": ",
                                                   std::string(what)));
  }

 private:
  char Peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++at_;
    return true;
  }
  std::string Word() {
    size_t start = at_;
    while (std::isalnum(static_cast<unsigned char>(Peek())) || Peek() == '_') ++at_;
    return std::string(text_.substr(start, at_ - start));
  }

  absl::Status Expect(char c) {
    return Eat(c) ? absl::OkStatus() : Error(absl::StrCat("expected '", std::string(1, c), "'"));
  }

  // Parses "<T1,T2,...>" with exactly `count` types (count < 0: one or more).
  absl::Status Arguments(StateType& type, int count, int depth) {
    if (absl::Status status = Expect('<'); !status.ok()) return status;
    do {
      absl::StatusOr<StateType> child = Type(depth + 1);
      if (!child.ok()) return child.status();
      type.children.push_back(std::move(*child));
    } while (Eat(','));
    if (count >= 0 && static_cast<int>(type.children.size()) != count) {
      return Error(absl::StrCat("expected ", count, " type arguments"));
    }
    return Expect('>');
  }

  absl::Status Named(const std::string& word, StateType& type, int depth) {
    using Kind = StateType::Kind;
    auto integer = [&](Kind kind, int bits) {
      type.kind = kind;
      type.bits = bits;
      return absl::OkStatus();
    };
    if (word == "bool") return integer(Kind::kBool, 8);
    if (word == "i8") return integer(Kind::kSigned, 8);
    if (word == "i16") return integer(Kind::kSigned, 16);
    if (word == "i32") return integer(Kind::kSigned, 32);
    if (word == "i64") return integer(Kind::kSigned, 64);
    if (word == "u8") return integer(Kind::kUnsigned, 8);
    if (word == "u16") return integer(Kind::kUnsigned, 16);
    if (word == "u32") return integer(Kind::kUnsigned, 32);
    if (word == "u64") return integer(Kind::kUnsigned, 64);
    if (word == "f32" || word == "f64") {
      type.kind = Kind::kFloat;
      type.bits = word == "f32" ? 32 : 64;
      type.min_bytes = type.bits / 8;
      return absl::OkStatus();
    }
    if (word == "string") {
      type.kind = Kind::kString;
      return absl::OkStatus();
    }
    if (word == "enum") {
      type.kind = Kind::kEnum;
      if (absl::Status status = Arguments(type, 1, depth); !status.ok()) return status;
      const StateType& underlying = type.children[0];
      if (underlying.kind != Kind::kSigned && underlying.kind != Kind::kUnsigned) {
        return Error("an enum's underlying type must be an integer");
      }
      type.bits = underlying.bits;
      type.enum_signed = underlying.kind == Kind::kSigned;
      return absl::OkStatus();
    }
    struct Container {
      const char* name;
      Kind kind;
      int arguments;
    };
    static constexpr Container kContainers[] = {
        {"vector", Kind::kVector, 1},       {"set", Kind::kSet, 1},
        {"optional", Kind::kOptional, 1},   {"map", Kind::kMap, 2},
        {"unordered_map", Kind::kUnorderedMap, 2}, {"pair", Kind::kPair, 2},
        {"tuple", Kind::kTuple, -1}};
    for (const Container& container : kContainers) {
      if (word != container.name) continue;
      type.kind = container.kind;
      if (absl::Status status = Arguments(type, container.arguments, depth); !status.ok()) {
        return status;
      }
      if (type.kind == Kind::kPair || type.kind == Kind::kTuple) {
        type.min_bytes = 0;
        for (const StateType& member : type.children) type.min_bytes += member.min_bytes;
      }
      return absl::OkStatus();
    }
    if (word == "array") {
      type.kind = Kind::kArray;
      if (absl::Status status = Expect('<'); !status.ok()) return status;
      absl::StatusOr<StateType> element = Type(depth + 1);
      if (!element.ok()) return element.status();
      type.children.push_back(std::move(*element));
      if (absl::Status status = Expect(','); !status.ok()) return status;
      std::string digits = Word();
      if (digits.empty() || digits.size() > 9 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        return Error("expected an array size");
      }
      type.array_size = std::stoull(digits);
      type.min_bytes = type.array_size * type.children[0].min_bytes;
      return Expect('>');
    }
    return Error(word.empty() ? "expected a type" : absl::StrCat("unknown type '", word, "'"));
  }

  absl::Status Struct(StateType& type, int depth) {
    type.kind = StateType::Kind::kStruct;
    Eat('{');
    if (Eat('}')) return absl::OkStatus();
    do {
      std::string name = Word();
      if (name.empty()) return Error("expected a field name");
      // JSON names fields, so a name that appears twice could not say which one it sets.
      if (std::find(type.field_names.begin(), type.field_names.end(), name) !=
          type.field_names.end()) {
        return Error(absl::StrCat("field '", name, "' appears twice"));
      }
      if (absl::Status status = Expect(':'); !status.ok()) return status;
      absl::StatusOr<StateType> field = Type(depth + 1);
      if (!field.ok()) return field.status();
      type.field_names.push_back(std::move(name));
      type.children.push_back(std::move(*field));
    } while (Eat(','));
    return Expect('}');
  }

  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

absl::StatusOr<StateSchema> StateSchema::Parse(std::string_view descriptor) {
  if (descriptor.size() > kMaxDescriptorBytes) {
    return absl::InvalidArgumentError("state descriptor is too long");
  }
  Parser parser(descriptor);
  absl::StatusOr<StateType> root = parser.Type(0);
  if (!root.ok()) return root.status();
  if (!parser.AtEnd()) return parser.Error("unexpected text after the type");
  if (root->kind != StateType::Kind::kStruct) {
    return parser.Error("a command's state must be a struct ({...})");
  }
  StateSchema schema;
  schema.root_ = std::move(*root);
  for (size_t i = 0; i < schema.root_.children.size(); ++i) {
    schema.fields_.push_back({schema.root_.field_names[i], schema.root_.children[i].text});
  }
  schema.fingerprint_ = detail::Fnv1a(descriptor);  // exactly as rexec::fingerprint<T>()
  return schema;
}

}  // namespace rexec
