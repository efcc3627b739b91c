#include "client/state_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "rexec/command.h"

namespace rexec {
namespace {

using ::testing::HasSubstr;

enum class Mode : int16_t { kA = -3, kB = 4 };

struct Inner {
  int8_t small = 0;
  std::vector<std::string> tags;
  REXEC_FIELDS(small, tags)
};

struct Sample {
  std::string message = "hi";
  std::vector<double> xs;
  int32_t repeat = 1;
  uint64_t big = 0;
  bool on = false;
  float ratio = 0.5f;
  Mode mode = Mode::kA;
  std::map<std::string, int> counts;
  std::map<int, std::string> names;
  std::optional<Inner> inner;
  std::array<uint8_t, 2> pair_of{};
  std::tuple<bool, std::string> tuple;
  std::set<int64_t> ids;
  REXEC_FIELDS(message, xs, repeat, big, on, ratio, mode, counts, names, inner, pair_of, tuple,
               ids)
};

StateSchema SchemaFor() {
  auto schema = StateSchema::Parse(descriptor<Sample>());
  EXPECT_TRUE(schema.ok()) << schema.status();
  return *schema;
}

Sample Filled() {
  Sample s;
  s.message = "hello";
  s.xs = {1, 2.5};
  s.repeat = -3;
  s.big = 18446744073709551615ull;
  s.on = true;
  s.ratio = 0.25f;
  s.mode = Mode::kB;
  s.counts = {{"a", 1}};
  s.names = {{7, "seven"}};
  s.inner = Inner{-5, {"x", "y"}};
  s.pair_of = {1, 2};
  s.tuple = {true, "t"};
  s.ids = {-1, 3};
  return s;
}

constexpr char kFilledJson[] =
    R"({"message":"hello","xs":[1.0,2.5],"repeat":-3,"big":18446744073709551615,"on":true,)"
    R"("ratio":0.25,"mode":4,"counts":{"a":1},"names":[[7,"seven"]],)"
    R"("inner":{"small":-5,"tags":["x","y"]},"pair_of":[1,2],"tuple":[true,"t"],"ids":[-1,3]})";

TEST(StateSchemaTest, ReadsFieldsAndFingerprintFromTheDescriptor) {
  StateSchema schema = SchemaFor();
  EXPECT_EQ(schema.fingerprint(), fingerprint<Sample>());
  ASSERT_EQ(schema.fields().size(), 13u);
  EXPECT_EQ(schema.fields()[0].name, "message");
  EXPECT_EQ(schema.fields()[0].type, "string");
  EXPECT_EQ(schema.fields()[9].type, "optional<{small:i8,tags:vector<string>}>");
}

TEST(StateSchemaTest, RefusesMalformedDescriptorsSayingWhere) {
  for (const char* bad : {"", "i32", "{a:}", "{a:i33}", "{a:vector<i32}", "{a:array<i32,x>}",
                          "{a:map<i32>}", "{a:i32}}", "{:i32}"}) {
    auto schema = StateSchema::Parse(bad);
    EXPECT_FALSE(schema.ok()) << bad;
    EXPECT_THAT(std::string(schema.status().message()), HasSubstr("offset")) << bad;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{a:";
  EXPECT_FALSE(StateSchema::Parse(deep).ok());
}

// Found by fuzz/state_json_fuzzer.cpp: with a field name twice, JSON that set it wrote both
// fields under a count of one, a state every worker refuses.
TEST(StateSchemaTest, RefusesAFieldNameThatAppearsTwice) {
  for (const char* twice : {"{c:i64,c:f32}", "{a:i32,b:{x:bool,x:bool}}"}) {
    auto schema = StateSchema::Parse(twice);
    EXPECT_FALSE(schema.ok()) << twice;
    EXPECT_THAT(std::string(schema.status().message()), HasSubstr("appears twice")) << twice;
  }
  EXPECT_TRUE(StateSchema::Parse("{x:i32,inner:{x:i32}}").ok());
}

TEST(StateJsonTest, JsonEncodesToTheSameBytesAsTheTemplates) {
  auto encoded = EncodeStateFromJson(SchemaFor(), kFilledJson);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, encode_state(Filled()));
}

TEST(StateJsonTest, DecodesTemplateStatesToJson) {
  auto json = DecodeStateToJson(SchemaFor(), encode_state(Filled()));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, kFilledJson);
}

TEST(StateJsonTest, PartialJsonLeavesTheOtherFieldsAtTheirDefaults) {
  auto encoded = EncodeStateFromJson(SchemaFor(), R"({"ids":[5],"repeat":9})");
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  Sample sample;
  std::string error;
  ASSERT_TRUE(decode_state(*encoded, sample, &error)) << error;
  EXPECT_EQ(sample.repeat, 9);
  EXPECT_EQ(sample.ids, std::set<int64_t>{5});
  EXPECT_EQ(sample.message, "hi");
  EXPECT_EQ(sample.ratio, 0.5f);
}

TEST(StateJsonTest, NonFiniteFloatsUseStrings) {
  auto encoded = EncodeStateFromJson(SchemaFor(), R"({"xs":["nan","inf","-inf"]})");
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  Sample sample;
  ASSERT_TRUE(decode_state(*encoded, sample));
  EXPECT_TRUE(std::isnan(sample.xs[0]));
  sample.xs = {std::numeric_limits<double>::infinity()};
  EXPECT_THAT(*DecodeStateToJson(SchemaFor(), encode_state(sample)), HasSubstr(R"("xs":["inf"])"));
}

TEST(StateJsonTest, ErrorsNameTheFieldAndWhatWasExpected) {
  StateSchema schema = SchemaFor();
  auto error = [&](const char* json) {
    return std::string(EncodeStateFromJson(schema, json).status().message());
  };
  EXPECT_THAT(error(R"({"nope":1})"), HasSubstr("unknown field 'nope'"));
  EXPECT_THAT(error(R"({"nope":1})"), HasSubstr("message, xs, repeat"));
  EXPECT_THAT(error(R"({"repeat":"x"})"), HasSubstr("field 'repeat': expected i32"));
  EXPECT_THAT(error(R"({"inner":{"small":300}})"), HasSubstr("field 'inner.small': 300 does not fit in i8"));
  EXPECT_THAT(error(R"({"big":-1})"), HasSubstr("does not fit in u64"));
  EXPECT_THAT(error(R"({"pair_of":[1]})"), HasSubstr("expected 2 elements"));
  EXPECT_THAT(error(R"({"tuple":[true]})"), HasSubstr("field 'tuple'"));
  EXPECT_THAT(error("not json"), HasSubstr("not valid JSON"));
}

TEST(StateJsonTest, AssignmentsTakeJsonOrABareStringWord) {
  StateSchema schema = SchemaFor();
  auto encoded = EncodeStateFromAssignments(schema, {"message=hello", "xs=[1,2.5]", "repeat=3"});
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  Sample sample;
  ASSERT_TRUE(decode_state(*encoded, sample));
  EXPECT_EQ(sample.message, "hello");
  EXPECT_EQ(sample.xs, (std::vector<double>{1, 2.5}));
  EXPECT_EQ(sample.repeat, 3);

  auto quoted = EncodeStateFromAssignments(schema, {R"(message="x=y")"});
  ASSERT_TRUE(quoted.ok());
  ASSERT_TRUE(decode_state(*quoted, sample));
  EXPECT_EQ(sample.message, "x=y");

  EXPECT_THAT(std::string(EncodeStateFromAssignments(schema, {"repeat=1", "repeat=2"})
                              .status()
                              .message()),
              HasSubstr("set twice"));
  EXPECT_FALSE(EncodeStateFromAssignments(schema, {"repeat=three"}).ok());
  EXPECT_FALSE(EncodeStateFromAssignments(schema, {"noequals"}).ok());
}

TEST(StateJsonTest, DecodingRefusesWrongFingerprintsAndGarbage) {
  StateSchema schema = SchemaFor();
  std::string other = encode_state(Inner{});
  EXPECT_THAT(std::string(DecodeStateToJson(schema, other).status().message()),
              HasSubstr("fingerprint"));
  std::string valid = encode_state(Filled());
  EXPECT_FALSE(DecodeStateToJson(schema, valid + "x").ok());
  for (size_t size = 0; size < valid.size(); ++size) {
    EXPECT_FALSE(DecodeStateToJson(schema, valid.substr(0, size)).ok()) << size;
  }
  std::mt19937 random(99);
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = valid;
    for (size_t i = 8 + random() % 8; i < bytes.size(); i += 1 + random() % 5) {
      bytes[i] = static_cast<char>(random());
    }
    (void)DecodeStateToJson(schema, bytes);  // must not crash
  }
}

struct Strings {
  std::set<std::string> set;
  std::map<std::string, int> map;
  REXEC_FIELDS(set, map)
};

// Found by fuzz/state_json_fuzzer.cpp: a string that is not UTF-8 in a set or as a map key made
// the duplicate check throw (nlohmann's dump()), ending rexec-send.
TEST(StateJsonTest, SetsAndMapsOfStringsThatAreNotUtf8Decode) {
  auto schema = StateSchema::Parse(descriptor<Strings>());
  ASSERT_TRUE(schema.ok()) << schema.status();
  Strings strings;
  strings.set = {"\xc2", "\xc3", "ok"};
  strings.map = {{"\xff", 1}, {"\xfe", 2}};
  absl::StatusOr<std::string> json = DecodeStateToJson(*schema, encode_state(strings));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("ok"));

  std::string duplicated = encode_state(Strings{{"\xc2"}, {}});
  // Fingerprint (8 bytes), 2 fields present, field 0: the set's count, then its one element.
  ASSERT_EQ(duplicated.substr(8, 5), std::string("\x02\x00\x01\x01\xc2", 5));
  duplicated[10] = 2;  // two elements: the same invalid string twice
  duplicated.insert(13, "\x01\xc2");
  EXPECT_THAT(std::string(DecodeStateToJson(*schema, duplicated).status().message()),
              HasSubstr("duplicate element in a set"));
}

}  // namespace
}  // namespace rexec
