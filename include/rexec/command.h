// rexec/command.h: command classes, the C++ counterpart of a pickled Python object with a main().
//
// A command is a struct whose fields travel with its code:
//
//   #include <rexec/command.h>
//   struct Sum {
//     std::vector<double> xs;
//     double total = 0;                     // written by main(), comes back to the caller
//     int main() { for (double x : xs) total += x; return 0; }   // int or void
//     REXEC_FIELDS(xs, total)
//   };
//   REXEC_COMMAND(Sum)                      // at global scope (a header is fine)
//
// A client encodes the object (encode_state), a worker that never saw the class decodes it into a
// default-constructed Sum, calls main(), and encodes the object again for the trip back.
//
// Field types: bool, every integer type, float, double, enums, std::string, std::vector,
// std::array, std::map, std::unordered_map, std::set, std::optional, std::pair, std::tuple, and
// structs with their own REXEC_FIELDS, nested to any depth. A field of any other type stops the
// compile with "rexec: field 'NAME' of this command is not serializable".
//
// State format (compact, little-endian): an 8-byte fingerprint, then the struct. The fingerprint
// is the FNV-1a hash of the type's *descriptor*, a text such as
// `{xs:vector<f64>,total:f64}` that REXEC_COMMAND also stores in the module, so tools can list a
// module's commands and fields without running anything (and encode states for them from JSON).
// A state whose fingerprint differs is refused, never misread. Encoding:
//   bool: 1 byte (0/1); integers: LEB128 varint (signed ones zigzag first); f32/f64: IEEE bytes;
//   enum: its underlying integer; string: varint length + bytes; vector, set: varint count +
//   elements; map, unordered_map: varint count + key/value pairs; array<T,N>: N elements;
//   optional: 1 byte + value if present; pair, tuple: members in order;
//   struct: varint count of fields present, then (varint field index, value) with increasing
//   indices. Absent fields keep their default value, so a caller may set only some fields.
// Decoding treats its input as hostile: every read is bounded, counts are checked against the
// bytes left, nesting depth is limited, and errors come back as values (no exceptions needed).
//
// This header needs only the C++17 standard library: it is compiled into user modules by the
// client's clang as well as into programs that use the C++ API.
#pragma once

#include <stddef.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__cpp_exceptions)
#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <typeinfo>
#endif

// The C ABI between a worker and a command's entry point, `rexec.command.<Name>`.
extern "C" {
typedef struct rexec_command_call {
  const unsigned char* state_in;  // the encoded state, fingerprint included
  size_t state_in_size;
  void* context;  // passed back to the callbacks
  void (*state_out)(void* context, const unsigned char* data, size_t size);  // the new state
  void (*failure)(void* context, int kind, const char* type_name, const char* message);
} rexec_command_call;
enum { REXEC_FAILURE_BAD_STATE = 1, REXEC_FAILURE_EXCEPTION = 2 };
}

namespace rexec {

// REXEC_COMMAND(T) specializes this with T's name.
template <typename T>
struct command_traits;

namespace detail {

// ---------------------------------------------------------------------------------------------
// Compile-time strings: descriptors are built by the compiler, so the module carries them as
// constants that can be read without running anything.

template <size_t N>
struct FixedString {
  char data[N + 1] = {};
  static constexpr size_t size = N;
  constexpr std::string_view view() const { return {data, N}; }
};

template <size_t N>
constexpr FixedString<N - 1> Literal(const char (&text)[N]) {
  FixedString<N - 1> out;
  for (size_t i = 0; i + 1 < N; ++i) out.data[i] = text[i];
  return out;
}

template <size_t A, size_t B>
constexpr FixedString<A + B> operator+(const FixedString<A>& a, const FixedString<B>& b) {
  FixedString<A + B> out;
  for (size_t i = 0; i < A; ++i) out.data[i] = a.data[i];
  for (size_t i = 0; i < B; ++i) out.data[A + i] = b.data[i];
  return out;
}

constexpr size_t DigitCount(size_t value) { return value < 10 ? 1 : 1 + DigitCount(value / 10); }

template <size_t Value>
constexpr FixedString<DigitCount(Value)> Number() {
  FixedString<DigitCount(Value)> out;
  size_t value = Value;
  for (size_t i = DigitCount(Value); i > 0; --i) {
    out.data[i - 1] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out;
}

constexpr uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// ---------------------------------------------------------------------------------------------
// Byte streams.

class Writer {
 public:
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Bytes(const void* data, size_t size) { out_.append(static_cast<const char*>(data), size); }
  void Varint(uint64_t value) {
    while (value >= 0x80) {
      Byte(static_cast<uint8_t>(value | 0x80));
      value >>= 7;
    }
    Byte(static_cast<uint8_t>(value));
  }
  void Fixed64(uint64_t value) {
    for (int i = 0; i < 8; ++i) Byte(static_cast<uint8_t>(value >> (8 * i)));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  static constexpr int kMaxDepth = 64;
  static constexpr uint64_t kMaxEmptyElements = 1 << 20;

  explicit Reader(std::string_view bytes)
      : at_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(at_ + bytes.size()) {}

  bool Fail(const char* message) {
    if (error_.empty()) error_ = message;
    return false;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - at_); }
  const std::string& error() const { return error_; }

  bool Byte(uint8_t& out) {
    if (at_ == end_) return Fail("state is truncated");
    out = *at_++;
    return true;
  }
  bool Bytes(void* out, size_t size) {
    if (remaining() < size) return Fail("state is truncated");
    std::memcpy(out, at_, size);
    at_ += size;
    return true;
  }
  bool Varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte;
      if (!Byte(byte)) return false;
      if (shift == 63 && byte > 1) return Fail("varint overflows 64 bits");
      out |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return Fail("varint is too long");
  }
  bool Fixed64(uint64_t& out) {
    unsigned char bytes[8];
    if (!Bytes(bytes, 8)) return false;
    out = 0;
    for (int i = 0; i < 8; ++i) out |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    return true;
  }
  // A count of elements that each take at least `min_bytes`, checked against what is left.
  // Elements that take no bytes (std::tuple<>, std::array<T, 0>) are bounded in total, not per
  // container: nested, a few bytes per count would otherwise ask for billions of them.
  bool Count(uint64_t& count, size_t min_bytes) {
    if (!Varint(count)) return false;
    if (min_bytes == 0 ? count > empty_elements_left_ : count > remaining() / min_bytes) {
      return Fail("element count exceeds the state's size");
    }
    if (min_bytes == 0) empty_elements_left_ -= count;
    return true;
  }
  bool Enter() { return ++depth_ <= kMaxDepth || Fail("state is nested too deeply"); }
  void Leave() { --depth_; }

 private:
  const unsigned char* at_;
  const unsigned char* end_;
  int depth_ = 0;
  uint64_t empty_elements_left_ = kMaxEmptyElements;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// Type<T>: descriptor, encoding and decoding of one field type. `supported` is false for types
// rexec cannot serialize (the primary template).

template <typename T, typename = void>
struct Type {
  static constexpr bool supported = false;
};

template <typename T>
inline constexpr bool kSupported = Type<T>::supported;

template <typename T, typename = void>
struct HasFields : std::false_type {};
template <typename T>
struct HasFields<T, std::void_t<decltype(std::declval<T&>().rexec_fields())>>
    : std::true_type {};

template <>
struct Type<bool> {
  static constexpr bool supported = true;
  static constexpr size_t min_bytes = 1;
  static constexpr auto Descriptor() { return Literal("bool"); }
  static void Write(Writer& w, bool value) { w.Byte(value ? 1 : 0); }
  static bool Read(Reader& r, bool& value) {
    uint8_t byte;
    if (!r.Byte(byte)) return false;
    if (byte > 1) return r.Fail("bool is neither 0 nor 1");
    value = byte == 1;
    return true;
  }
};

template <typename T>
struct Type<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static constexpr bool supported = true;
  static constexpr size_t min_bytes = 1;
  static constexpr auto Descriptor() {
    constexpr auto bits = Number<sizeof(T) * 8>();
    if constexpr (std::is_signed_v<T>) {
      return Literal("i") + bits;
    } else {
      return Literal("u") + bits;
    }
  }
  static void Write(Writer& w, T value) {
    if constexpr (std::is_signed_v<T>) {
      int64_t v = value;
      w.Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
    } else {
      w.Varint(value);
    }
  }
  static bool Read(Reader& r, T& value) {
    uint64_t raw;
    if (!r.Varint(raw)) return false;
    if constexpr (std::is_signed_v<T>) {
      int64_t v = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
        return r.Fail("integer out of range for its field");
      }
      value = static_cast<T>(v);
    } else {
      if (raw > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return r.Fail("integer out of range for its field");
      }
      value = static_cast<T>(raw);
    }
    return true;
  }
};

template <typename T>
struct Type<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "rexec: long double is not serializable");
  static constexpr bool supported = sizeof(T) == 4 || sizeof(T) == 8;
  static constexpr size_t min_bytes = sizeof(T);
  static constexpr auto Descriptor() { return Literal("f") + Number<sizeof(T) * 8>(); }
  static void Write(Writer& w, T value) {
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));  // x86-64 and AArch64 are little-endian
    w.Bytes(bytes, sizeof(T));
  }
  static bool Read(Reader& r, T& value) { return r.Bytes(&value, sizeof(T)); }
};

template <typename T>
struct Type<T, std::enable_if_t<std::is_enum_v<T>>> {
  using Underlying = std::underlying_type_t<T>;
  static constexpr bool supported = true;
  static constexpr size_t min_bytes = 1;
  static constexpr auto Descriptor() {
    return Literal("enum<") + Type<Underlying>::Descriptor() + Literal(">");
  }
  static void Write(Writer& w, T value) {
    Type<Underlying>::Write(w, static_cast<Underlying>(value));
  }
  static bool Read(Reader& r, T& value) {
    Underlying raw;
    if (!Type<Underlying>::Read(r, raw)) return false;
    value = static_cast<T>(raw);
    return true;
  }
};

template <>
struct Type<std::string> {
  static constexpr bool supported = true;
  static constexpr size_t min_bytes = 1;
  static constexpr auto Descriptor() { return Literal("string"); }
  static void Write(Writer& w, const std::string& value) {
    w.Varint(value.size());
    w.Bytes(value.data(), value.size());
  }
  static bool Read(Reader& r, std::string& value) {
    uint64_t size;
    if (!r.Count(size, 1)) return false;
    value.resize(size);
    return r.Bytes(value.data(), size);
  }
};

// Shared by the containers written as a count and a run of elements.
template <typename Container, typename Element>
struct SequenceType {
  static constexpr bool supported = kSupported<Element>;
  static constexpr size_t min_bytes = 1;
  static void Write(Writer& w, const Container& values) {
    w.Varint(values.size());
    for (const auto& value : values) Type<Element>::Write(w, static_cast<const Element&>(value));
  }
};

template <typename T, typename A>
struct Type<std::vector<T, A>> : SequenceType<std::vector<T, A>, T> {
  static constexpr auto Descriptor() {
    return Literal("vector<") + Type<T>::Descriptor() + Literal(">");
  }
  static bool Read(Reader& r, std::vector<T, A>& values) {
    uint64_t count;
    if (!r.Count(count, Type<T>::min_bytes) || !r.Enter()) return false;
    values.clear();
    values.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      T value{};
      if (!Type<T>::Read(r, value)) return false;
      values.push_back(std::move(value));
    }
    r.Leave();
    return true;
  }
};

template <typename T, typename C, typename A>
struct Type<std::set<T, C, A>> : SequenceType<std::set<T, C, A>, T> {
  static constexpr auto Descriptor() {
    return Literal("set<") + Type<T>::Descriptor() + Literal(">");
  }
  static bool Read(Reader& r, std::set<T, C, A>& values) {
    uint64_t count;
    if (!r.Count(count, Type<T>::min_bytes) || !r.Enter()) return false;
    values.clear();
    for (uint64_t i = 0; i < count; ++i) {
      T value{};
      if (!Type<T>::Read(r, value)) return false;
      if (!values.insert(std::move(value)).second) return r.Fail("duplicate element in a set");
    }
    r.Leave();
    return true;
  }
};

template <typename T, size_t N>
struct Type<std::array<T, N>> {
  static constexpr bool supported = kSupported<T>;
  static constexpr size_t min_bytes = N * Type<T>::min_bytes;
  static constexpr auto Descriptor() {
    return Literal("array<") + Type<T>::Descriptor() + Literal(",") + Number<N>() + Literal(">");
  }
  static void Write(Writer& w, const std::array<T, N>& values) {
    for (const T& value : values) Type<T>::Write(w, value);
  }
  static bool Read(Reader& r, std::array<T, N>& values) {
    if (!r.Enter()) return false;
    for (T& value : values) {
      if (!Type<T>::Read(r, value)) return false;
    }
    r.Leave();
    return true;
  }
};

template <typename Map, typename K, typename V>
struct MapType {
  static constexpr bool supported = kSupported<K> && kSupported<V>;
  static constexpr size_t min_bytes = 1;
  static void Write(Writer& w, const Map& values) {
    w.Varint(values.size());
    for (const auto& [key, value] : values) {
      Type<K>::Write(w, key);
      Type<V>::Write(w, value);
    }
  }
  static bool Read(Reader& r, Map& values) {
    uint64_t count;
    if (!r.Count(count, Type<K>::min_bytes + Type<V>::min_bytes) || !r.Enter()) return false;
    values.clear();
    for (uint64_t i = 0; i < count; ++i) {
      K key{};
      V value{};
      if (!Type<K>::Read(r, key) || !Type<V>::Read(r, value)) return false;
      if (!values.emplace(std::move(key), std::move(value)).second) {
        return r.Fail("duplicate key in a map");
      }
    }
    r.Leave();
    return true;
  }
};

template <typename K, typename V, typename C, typename A>
struct Type<std::map<K, V, C, A>> : MapType<std::map<K, V, C, A>, K, V> {
  static constexpr auto Descriptor() {
    return Literal("map<") + Type<K>::Descriptor() + Literal(",") + Type<V>::Descriptor() +
           Literal(">");
  }
};

template <typename K, typename V, typename H, typename E, typename A>
struct Type<std::unordered_map<K, V, H, E, A>> : MapType<std::unordered_map<K, V, H, E, A>, K, V> {
  static constexpr auto Descriptor() {
    return Literal("unordered_map<") + Type<K>::Descriptor() + Literal(",") +
           Type<V>::Descriptor() + Literal(">");
  }
};

template <typename T>
struct Type<std::optional<T>> {
  static constexpr bool supported = kSupported<T>;
  static constexpr size_t min_bytes = 1;
  static constexpr auto Descriptor() {
    return Literal("optional<") + Type<T>::Descriptor() + Literal(">");
  }
  static void Write(Writer& w, const std::optional<T>& value) {
    w.Byte(value.has_value() ? 1 : 0);
    if (value) Type<T>::Write(w, *value);
  }
  static bool Read(Reader& r, std::optional<T>& value) {
    bool present;
    if (!Type<bool>::Read(r, present)) return false;
    if (!present) {
      value.reset();
      return true;
    }
    if (!r.Enter()) return false;
    T inner{};
    if (!Type<T>::Read(r, inner)) return false;
    value = std::move(inner);
    r.Leave();
    return true;
  }
};

// Members in order, for pair and tuple.
template <typename Tuple, typename... Ts>
struct ProductType {
  static constexpr bool supported = (kSupported<Ts> && ...);
  static constexpr size_t min_bytes = (size_t{0} + ... + Type<Ts>::min_bytes);
  static constexpr auto Members() {
    if constexpr (sizeof...(Ts) == 0) {
      return Literal("");
    } else {
      return Join(Type<Ts>::Descriptor()...);
    }
  }
  template <typename First, typename... Rest>
  static constexpr auto Join(const First& first, const Rest&... rest) {
    if constexpr (sizeof...(Rest) == 0) {
      return first;
    } else {
      return first + Literal(",") + Join(rest...);
    }
  }
  static void Write(Writer& w, const Tuple& value) {
    std::apply([&w](const Ts&... members) { (Type<Ts>::Write(w, members), ...); }, value);
  }
  static bool Read(Reader& r, Tuple& value) {
    if (!r.Enter()) return false;
    bool ok = std::apply([&r](Ts&... members) { return (Type<Ts>::Read(r, members) && ...); },
                         value);
    if (ok) r.Leave();
    return ok;
  }
};

template <typename A, typename B>
struct Type<std::pair<A, B>> : ProductType<std::pair<A, B>, A, B> {
  static constexpr auto Descriptor() {
    return Literal("pair<") + ProductType<std::pair<A, B>, A, B>::Members() + Literal(">");
  }
};

template <typename... Ts>
struct Type<std::tuple<Ts...>> : ProductType<std::tuple<Ts...>, Ts...> {
  static constexpr auto Descriptor() {
    return Literal("tuple<") + ProductType<std::tuple<Ts...>, Ts...>::Members() + Literal(">");
  }
};

// --- structs with REXEC_FIELDS -----------------------------------------------------------------

template <typename T>
using FieldRefs = decltype(std::declval<T&>().rexec_fields());  // std::tuple<F&...>
template <typename T, size_t I>
using FieldType = std::decay_t<std::tuple_element_t<I, FieldRefs<T>>>;
template <typename T>
inline constexpr size_t kFieldCount = std::tuple_size_v<FieldRefs<T>>;

struct NameSpan {
  size_t begin;
  size_t length;
};

// The index-th name in REXEC_FIELDS's stringized argument list "a, b,c".
constexpr NameSpan FieldName(const char* names, size_t index) {
  size_t at = 0;
  for (size_t i = 0;; ++i) {
    while (names[at] == ' ' || names[at] == '\t' || names[at] == '\n') ++at;
    size_t begin = at;
    while (names[at] != ',' && names[at] != '\0' && names[at] != ' ' && names[at] != '\t' &&
           names[at] != '\n') {
      ++at;
    }
    if (i == index) return {begin, at - begin};
    while (names[at] != ',' && names[at] != '\0') ++at;
    if (names[at] == ',') ++at;
  }
}

template <typename T, size_t I>
constexpr auto FieldDescriptor() {
  constexpr NameSpan span = FieldName(T::rexec_field_names(), I);
  FixedString<span.length> name;
  for (size_t i = 0; i < span.length; ++i) name.data[i] = T::rexec_field_names()[span.begin + i];
  return name + Literal(":") + Type<FieldType<T, I>>::Descriptor();
}

template <typename T, size_t... I>
constexpr auto StructDescriptor(std::index_sequence<I...>) {
  if constexpr (sizeof...(I) == 0) {
    return Literal("{}");
  } else {
    return Literal("{") + ProductType<std::tuple<>, FieldType<T, I>...>::Join(
                              FieldDescriptor<T, I>()...) +
           Literal("}");
  }
}

template <typename T>
struct Type<T, std::enable_if_t<HasFields<T>::value>> {
  using Indexes = std::make_index_sequence<kFieldCount<T>>;
  static constexpr bool supported = true;  // REXEC_FIELDS checks each field itself
  static constexpr size_t min_bytes = 1;
  static constexpr auto Descriptor() { return StructDescriptor<T>(Indexes{}); }

  static void Write(Writer& w, const T& value) {
    w.Varint(kFieldCount<T>);
    WriteFields(w, const_cast<T&>(value).rexec_fields(), Indexes{});
  }
  template <size_t... I>
  static void WriteFields(Writer& w, const FieldRefs<T>& fields, std::index_sequence<I...>) {
    ((w.Varint(I), Type<FieldType<T, I>>::Write(w, std::get<I>(fields))), ...);
  }

  static bool Read(Reader& r, T& value) {
    uint64_t present;
    if (!r.Varint(present) || !r.Enter()) return false;
    if (present > kFieldCount<T>) return r.Fail("more fields than the struct has");
    FieldRefs<T> fields = value.rexec_fields();
    uint64_t next = 0;  // indices must increase
    for (uint64_t i = 0; i < present; ++i) {
      uint64_t index;
      if (!r.Varint(index)) return false;
      if (index >= kFieldCount<T> || index < next) return r.Fail("bad field index");
      next = index + 1;
      if (!ReadField(r, fields, index, Indexes{})) return false;
    }
    r.Leave();
    return true;
  }
  template <size_t... I>
  static bool ReadField(Reader& r, FieldRefs<T>& fields, uint64_t index,
                        std::index_sequence<I...>) {
    bool ok = false;
    (void)((index == I ? (ok = Type<FieldType<T, I>>::Read(r, std::get<I>(fields)), true)
                       : false) ||
           ...);
    return ok;
  }
};

// --- running a command --------------------------------------------------------------------------

template <typename T>
int CallMain(T& command) {
  if constexpr (std::is_void_v<decltype(command.main())>) {
    command.main();
    return 0;
  } else {
    return static_cast<int>(command.main());
  }
}

#if defined(__cpp_exceptions)
inline std::string Demangle(const char* mangled) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : mangled;
  std::free(demangled);
  return name;
}
#endif

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The public API.

template <typename T>
inline constexpr bool is_serializable_v = detail::kSupported<T>;

// Holds T's descriptor as a compile-time constant (REXEC_COMMAND stores it in the module).
template <typename T>
struct Descriptor {
  static constexpr auto value = detail::Type<T>::Descriptor();
};

// The type descriptor, e.g. "{xs:vector<f64>,total:f64}".
template <typename T>
constexpr std::string_view descriptor() {
  return Descriptor<T>::value.view();
}

template <typename T>
constexpr uint64_t fingerprint() {
  return detail::Fnv1a(descriptor<T>());
}

template <typename T>
std::string encode_state(const T& value) {
  detail::Writer writer;
  writer.Fixed64(fingerprint<T>());
  detail::Type<T>::Write(writer, value);
  return writer.Take();
}

// Decodes into `out` (fields absent from the state keep their values). On failure returns false
// and says why in `error`; `out` may then be partly written.
template <typename T>
bool decode_state(std::string_view bytes, T& out, std::string* error = nullptr) {
  detail::Reader reader(bytes);
  uint64_t found;
  auto fail = [&](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (!reader.Fixed64(found)) return fail("state is too short to hold a fingerprint");
  if (found != fingerprint<T>()) {
    char text[192];
    std::snprintf(text, sizeof text,
                  "state fingerprint %016llx does not match this command's %016llx: it was "
                  "encoded for another type or another version of it",
                  static_cast<unsigned long long>(found),
                  static_cast<unsigned long long>(fingerprint<T>()));
    return fail(text);
  }
  if (!detail::Type<T>::Read(reader, out)) return fail(reader.error());
  if (reader.remaining() != 0) return fail("state has trailing bytes");
  return true;
}

namespace detail {

// The body of a command's entry point (see REXEC_COMMAND).
template <typename T>
int RunCommand(const rexec_command_call* call) {
  T command{};
  std::string error;
  std::string_view state(reinterpret_cast<const char*>(call->state_in), call->state_in_size);
  if (!decode_state(state, command, &error)) {
    call->failure(call->context, REXEC_FAILURE_BAD_STATE, "", error.c_str());
    return 0;
  }
  int code = 0;
#if defined(__cpp_exceptions)
  try {
    code = CallMain(command);
  } catch (const std::exception& exception) {
    call->failure(call->context, REXEC_FAILURE_EXCEPTION, Demangle(typeid(exception).name()).c_str(),
                  exception.what());
    return 0;
  } catch (...) {
    std::type_info* type = abi::__cxa_current_exception_type();
    call->failure(call->context, REXEC_FAILURE_EXCEPTION,
                  type != nullptr ? Demangle(type->name()).c_str() : "unknown", "");
    return 0;
  }
#else
  code = CallMain(command);
#endif
  std::string out = encode_state(command);
  call->state_out(call->context, reinterpret_cast<const unsigned char*>(out.data()), out.size());
  return code;
}

}  // namespace detail
}  // namespace rexec

// ---------------------------------------------------------------------------------------------
// The macros.

#define REXEC_DETAIL_CAT_(a, b) a##b
#define REXEC_DETAIL_CAT(a, b) REXEC_DETAIL_CAT_(a, b)

// REXEC_DETAIL_FOR_EACH(F, a, b, c) expands to F(a) F(b) F(c), for up to 64 arguments.
#define REXEC_DETAIL_EXPAND(...) __VA_ARGS__
#define REXEC_DETAIL_ARG_65(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, \
                            _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28,  \
                            _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, _41,  \
                            _42, _43, _44, _45, _46, _47, _48, _49, _50, _51, _52, _53, _54,  \
                            _55, _56, _57, _58, _59, _60, _61, _62, _63, _64, N, ...)         \
  N
#define REXEC_DETAIL_COUNT(...)                                                               \
  REXEC_DETAIL_EXPAND(REXEC_DETAIL_ARG_65(__VA_ARGS__, 64, 63, 62, 61, 60, 59, 58, 57, 56, 55, \
                                          54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, \
                                          41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, \
                                          28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, \
                                          15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1))
#define REXEC_DETAIL_FE_1(F, x) F(x)
#define REXEC_DETAIL_FE_2(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_1(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_3(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_2(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_4(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_3(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_5(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_4(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_6(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_5(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_7(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_6(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_8(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_7(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_9(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_8(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_10(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_9(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_11(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_10(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_12(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_11(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_13(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_12(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_14(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_13(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_15(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_14(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_16(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_15(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_17(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_16(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_18(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_17(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_19(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_18(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_20(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_19(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_21(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_20(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_22(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_21(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_23(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_22(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_24(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_23(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_25(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_24(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_26(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_25(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_27(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_26(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_28(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_27(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_29(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_28(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_30(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_29(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_31(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_30(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_32(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_31(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_33(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_32(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_34(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_33(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_35(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_34(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_36(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_35(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_37(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_36(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_38(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_37(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_39(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_38(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_40(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_39(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_41(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_40(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_42(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_41(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_43(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_42(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_44(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_43(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_45(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_44(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_46(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_45(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_47(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_46(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_48(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_47(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_49(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_48(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_50(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_49(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_51(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_50(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_52(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_51(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_53(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_52(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_54(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_53(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_55(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_54(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_56(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_55(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_57(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_56(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_58(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_57(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_59(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_58(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_60(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_59(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_61(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_60(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_62(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_61(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_63(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_62(F, __VA_ARGS__))
#define REXEC_DETAIL_FE_64(F, x, ...) F(x) REXEC_DETAIL_EXPAND(REXEC_DETAIL_FE_63(F, __VA_ARGS__))
#define REXEC_DETAIL_FOR_EACH(F, ...)                                               \
  REXEC_DETAIL_EXPAND(REXEC_DETAIL_CAT(REXEC_DETAIL_FE_, REXEC_DETAIL_COUNT(__VA_ARGS__))( \
      F, __VA_ARGS__))

#define REXEC_DETAIL_CHECK_FIELD(field)                                              \
  static_assert(::rexec::is_serializable_v<std::decay_t<decltype(field)>>,          \
                "rexec: field '" #field "' of this command is not serializable");

// Inside a struct, after its fields: the fields that travel, in a fixed order.
#define REXEC_FIELDS(...)                                                            \
  auto rexec_fields() { return std::tie(__VA_ARGS__); }                             \
  static constexpr const char* rexec_field_names() { return #__VA_ARGS__; }         \
  REXEC_DETAIL_FOR_EACH(REXEC_DETAIL_CHECK_FIELD, __VA_ARGS__)

// At global scope, after T: makes T runnable by a worker. Emits the entry point `rexec.command.T`
// and the constant `rexec.meta.T` (T's descriptor) into the module, and gives host programs T's
// name (command_traits). May sit in a header that both the command sources and the host program
// include: the entry point is inline, so it links once however many files include it.
#define REXEC_COMMAND(T) REXEC_DETAIL_COMMAND(T, REXEC_DETAIL_CAT(rexec_command_, __COUNTER__))
#define REXEC_DETAIL_COMMAND(T, id)                                                    \
  namespace rexec {                                                                    \
  template <>                                                                          \
  struct command_traits<T> {                                                           \
    static constexpr const char* name = #T;                                            \
  };                                                                                   \
  }                                                                                    \
  __attribute__((used)) static constexpr auto REXEC_DETAIL_CAT(id, _meta)              \
      __asm__("rexec.meta." #T) = ::rexec::Descriptor<T>::value;                       \
  extern "C" __attribute__((used)) inline int REXEC_DETAIL_CAT(id, _entry)(            \
      const rexec_command_call* call) __asm__("rexec.command." #T);                    \
  extern "C" inline int REXEC_DETAIL_CAT(id, _entry)(const rexec_command_call* call) { \
    return ::rexec::detail::RunCommand<T>(call);                                       \
  }
