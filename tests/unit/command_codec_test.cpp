// include/rexec/command.h: descriptors, the state codec and the entry point, on their own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "rexec/command.h"
#include "tests/support/temp_dir.h"

namespace {

using ::testing::HasSubstr;

enum class Color : uint8_t { kRed, kGreen = 7 };
enum Plain { kOne = -1, kTwo = 2 };

struct Leaf {
  int64_t id = 0;
  std::optional<std::string> label;
  REXEC_FIELDS(id, label)
};
struct Branch {
  std::vector<Leaf> leaves;
  std::map<int, Leaf> by_id;
  REXEC_FIELDS(leaves, by_id)
};
struct Everything {
  bool flag = false;
  char c = 0;
  signed char sc = 0;
  unsigned char uc = 0;
  short s = 0;
  unsigned short us = 0;
  int i = 0;
  unsigned u = 0;
  long l = 0;
  unsigned long ul = 0;
  long long ll = 0;
  unsigned long long ull = 0;
  float f = 0;
  double d = 0;
  Color color = Color::kRed;
  Plain plain = kTwo;
  std::string text = "default";
  std::vector<bool> bits;
  std::array<int, 3> triple{};
  std::set<std::string> tags;
  std::unordered_map<std::string, double> weights;
  std::pair<int, std::string> pair;
  std::tuple<bool, double, std::vector<int>> tuple;
  Branch tree;
  REXEC_FIELDS(flag, c, sc, uc, s, us, i, u, l, ul, ll, ull, f, d, color, plain, text, bits,
               triple, tags, weights, pair, tuple, tree)
};

Everything Sample() {
  Everything e;
  e.flag = true;
  e.c = 'x';
  e.sc = std::numeric_limits<signed char>::min();
  e.uc = std::numeric_limits<unsigned char>::max();
  e.s = std::numeric_limits<short>::min();
  e.us = std::numeric_limits<unsigned short>::max();
  e.i = std::numeric_limits<int>::min();
  e.u = std::numeric_limits<unsigned>::max();
  e.l = std::numeric_limits<long>::min();
  e.ul = std::numeric_limits<unsigned long>::max();
  e.ll = std::numeric_limits<long long>::max();
  e.ull = 1ull << 63;
  e.f = -1.5f;
  e.d = std::numeric_limits<double>::infinity();
  e.color = Color::kGreen;
  e.plain = kOne;
  e.text = std::string("with\0nul", 8);
  e.bits = {true, false, true};
  e.triple = {1, -2, 3};
  e.tags = {"a", "b"};
  e.weights = {{"w", 0.25}};
  e.pair = {4, "four"};
  e.tuple = {true, -0.0, {1, 2}};
  e.tree.leaves = {{1, "one"}, {2, std::nullopt}};
  e.tree.by_id[9] = Leaf{9, "nine"};
  return e;
}

bool SameTree(const Branch& a, const Branch& b) {
  auto same_leaf = [](const Leaf& x, const Leaf& y) { return x.id == y.id && x.label == y.label; };
  if (a.leaves.size() != b.leaves.size() || a.by_id.size() != b.by_id.size()) return false;
  for (size_t i = 0; i < a.leaves.size(); ++i) {
    if (!same_leaf(a.leaves[i], b.leaves[i])) return false;
  }
  for (const auto& [id, leaf] : a.by_id) {
    if (!b.by_id.count(id) || !same_leaf(leaf, b.by_id.at(id))) return false;
  }
  return true;
}

TEST(CommandCodecTest, DescriptorSpellsOutEveryField) {
  EXPECT_EQ(rexec::descriptor<Leaf>(), "{id:i64,label:optional<string>}");
  EXPECT_EQ(rexec::descriptor<Everything>(),
            "{flag:bool,c:i8,sc:i8,uc:u8,s:i16,us:u16,i:i32,u:u32,l:i64,ul:u64,ll:i64,ull:u64,"
            "f:f32,d:f64,color:enum<u8>,plain:enum<i32>,text:string,bits:vector<bool>,"
            "triple:array<i32,3>,tags:set<string>,weights:unordered_map<string,f64>,"
            "pair:pair<i32,string>,tuple:tuple<bool,f64,vector<i32>>,"
            "tree:{leaves:vector<{id:i64,label:optional<string>}>,"
            "by_id:map<i32,{id:i64,label:optional<string>}>}}");
  EXPECT_NE(rexec::fingerprint<Leaf>(), rexec::fingerprint<Branch>());
}

TEST(CommandCodecTest, EveryTypeRoundTrips) {
  Everything in = Sample();
  Everything out;
  std::string error;
  ASSERT_TRUE(rexec::decode_state(rexec::encode_state(in), out, &error)) << error;
  EXPECT_EQ(out.flag, in.flag);
  EXPECT_EQ(out.c, in.c);
  EXPECT_EQ(out.sc, in.sc);
  EXPECT_EQ(out.uc, in.uc);
  EXPECT_EQ(out.s, in.s);
  EXPECT_EQ(out.us, in.us);
  EXPECT_EQ(out.i, in.i);
  EXPECT_EQ(out.u, in.u);
  EXPECT_EQ(out.l, in.l);
  EXPECT_EQ(out.ul, in.ul);
  EXPECT_EQ(out.ll, in.ll);
  EXPECT_EQ(out.ull, in.ull);
  EXPECT_EQ(out.f, in.f);
  EXPECT_EQ(out.d, in.d);
  EXPECT_EQ(out.color, in.color);
  EXPECT_EQ(out.plain, in.plain);
  EXPECT_EQ(out.text, in.text);
  EXPECT_EQ(out.bits, in.bits);
  EXPECT_EQ(out.triple, in.triple);
  EXPECT_EQ(out.tags, in.tags);
  EXPECT_EQ(out.weights, in.weights);
  EXPECT_EQ(out.pair, in.pair);
  EXPECT_EQ(out.tuple, in.tuple);
  EXPECT_TRUE(std::signbit(std::get<1>(out.tuple)));
  EXPECT_TRUE(SameTree(out.tree, in.tree));
}

TEST(CommandCodecTest, NanSurvives) {
  Everything in;
  in.d = std::nan("");
  Everything out;
  ASSERT_TRUE(rexec::decode_state(rexec::encode_state(in), out));
  EXPECT_TRUE(std::isnan(out.d));
}

TEST(CommandCodecTest, AbsentFieldsKeepTheirDefaults) {
  // fingerprint, 1 field present: index 1 (label) = present "x"
  std::string state = rexec::encode_state(Leaf{});
  state.resize(8);
  state += std::string("\x01\x01\x01\x01x", 5);
  Leaf leaf{42, std::nullopt};
  std::string error;
  ASSERT_TRUE(rexec::decode_state(state, leaf, &error)) << error;
  EXPECT_EQ(leaf.id, 42);
  EXPECT_EQ(leaf.label, "x");
}

TEST(CommandCodecTest, RefusesAnotherTypesState) {
  Leaf leaf;
  std::string error;
  EXPECT_FALSE(rexec::decode_state(rexec::encode_state(Branch{}), leaf, &error));
  EXPECT_THAT(error, HasSubstr("fingerprint"));
}

TEST(CommandCodecTest, RefusesEveryTruncationAndTrailingBytes) {
  std::string state = rexec::encode_state(Sample());
  for (size_t size = 0; size < state.size(); ++size) {
    Everything out;
    EXPECT_FALSE(rexec::decode_state(std::string_view(state).substr(0, size), out)) << size;
  }
  Everything out;
  std::string error;
  EXPECT_FALSE(rexec::decode_state(state + "x", out, &error));
  EXPECT_THAT(error, HasSubstr("trailing"));
}

TEST(CommandCodecTest, RefusesOutOfRangeValuesAndDuplicates) {
  struct Small {
    int8_t v = 0;
    std::set<int> s;
    REXEC_FIELDS(v, s)
  };
  std::string header = rexec::encode_state(Small{}).substr(0, 8);
  Small out;
  std::string error;
  // v = 300 (zigzag 600 = 0xd8 0x04)
  EXPECT_FALSE(rexec::decode_state(header + std::string("\x01\x00\xd8\x04", 4), out, &error));
  EXPECT_THAT(error, HasSubstr("out of range"));
  // s = {1, 1}
  EXPECT_FALSE(rexec::decode_state(header + std::string("\x01\x01\x02\x02\x02", 5), out, &error));
  EXPECT_THAT(error, HasSubstr("duplicate"));
  // field indices must increase
  EXPECT_FALSE(rexec::decode_state(header + std::string("\x02\x01\x00\x00\x00", 5), out, &error));
}

// Elements of no bytes (std::tuple<>) were bounded per container: 3 KB of nested counts asked
// for a billion of them (seconds of CPU, a gigabyte of address space). They are bounded per state.
TEST(CommandCodecTest, EmptyElementsAreBoundedPerStateNotPerContainer) {
  struct Empties {
    std::vector<std::vector<std::tuple<>>> v;
    REXEC_FIELDS(v)
  };
  rexec::detail::Writer w;
  w.Fixed64(rexec::fingerprint<Empties>());
  w.Varint(1);  // one field present: v
  w.Varint(0);
  w.Varint(1000);
  for (int i = 0; i < 1000; ++i) w.Varint(1 << 20);
  Empties out;
  std::string error;
  EXPECT_FALSE(rexec::decode_state(w.Take(), out, &error));
  EXPECT_THAT(error, HasSubstr("element count exceeds"));

  Empties some;
  some.v = {std::vector<std::tuple<>>(1000), {}, std::vector<std::tuple<>>(3)};
  Empties back;
  ASSERT_TRUE(rexec::decode_state(rexec::encode_state(some), back, &error)) << error;
  EXPECT_EQ(back.v, some.v);
}

TEST(CommandCodecTest, RandomAndMutatedBytesNeverCrash) {
  std::mt19937 random(1234);
  std::string valid = rexec::encode_state(Sample());
  for (int round = 0; round < 5000; ++round) {
    std::string bytes = valid;
    int edits = 1 + random() % 4;
    for (int e = 0; e < edits; ++e) bytes[random() % bytes.size()] = static_cast<char>(random());
    if (round % 2 == 1) {  // keep the fingerprint, scramble the rest
      for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = static_cast<char>(random());
    }
    Everything out;
    std::string error;
    if (!rexec::decode_state(bytes, out, &error)) {
      EXPECT_FALSE(error.empty());
    }
  }
}

// The entry point, called as a worker calls it.
struct Calls {
  std::string state;
  int failure = 0;
  std::string type;
  std::string message;
  int state_calls = 0;
};
rexec_command_call Call(const std::string& state, Calls& calls) {
  rexec_command_call call{};
  call.state_in = reinterpret_cast<const unsigned char*>(state.data());
  call.state_in_size = state.size();
  call.context = &calls;
  call.state_out = [](void* context, const unsigned char* data, size_t size) {
    auto* c = static_cast<Calls*>(context);
    c->state.assign(reinterpret_cast<const char*>(data), size);
    ++c->state_calls;
  };
  call.failure = [](void* context, int kind, const char* type, const char* message) {
    auto* c = static_cast<Calls*>(context);
    c->failure = kind;
    c->type = type;
    c->message = message;
  };
  return call;
}

struct Doubler {
  int value = 0;
  int main() { value *= 2; return 7; }
  REXEC_FIELDS(value)
};
struct Quiet {
  int value = 0;
  void main() { ++value; }
  REXEC_FIELDS(value)
};
struct Throws {
  int value = 0;
  int main() { throw std::out_of_range("too far"); }
  REXEC_FIELDS(value)
};

TEST(CommandEntryTest, RunsMainAndReturnsTheNewState) {
  Calls calls;
  rexec_command_call call = Call(rexec::encode_state(Doubler{21}), calls);
  EXPECT_EQ(rexec::detail::RunCommand<Doubler>(&call), 7);
  Doubler out;
  ASSERT_TRUE(rexec::decode_state(calls.state, out));
  EXPECT_EQ(out.value, 42);

  Calls quiet_calls;
  rexec_command_call quiet = Call(rexec::encode_state(Quiet{1}), quiet_calls);
  EXPECT_EQ(rexec::detail::RunCommand<Quiet>(&quiet), 0);
  Quiet q;
  ASSERT_TRUE(rexec::decode_state(quiet_calls.state, q));
  EXPECT_EQ(q.value, 2);
}

TEST(CommandEntryTest, ReportsExceptionsAndBadStates) {
  Calls thrown;
  rexec_command_call call = Call(rexec::encode_state(Throws{}), thrown);
  rexec::detail::RunCommand<Throws>(&call);
  EXPECT_EQ(thrown.failure, REXEC_FAILURE_EXCEPTION);
  EXPECT_EQ(thrown.type, "std::out_of_range");
  EXPECT_EQ(thrown.message, "too far");
  EXPECT_EQ(thrown.state_calls, 0);

  Calls bad;
  rexec_command_call garbage = Call("nonsense", bad);
  rexec::detail::RunCommand<Doubler>(&garbage);
  EXPECT_EQ(bad.failure, REXEC_FAILURE_BAD_STATE);
  EXPECT_THAT(bad.message, HasSubstr("fingerprint"));
  EXPECT_EQ(bad.state_calls, 0);
}

// These run clang-19 the way the client compiles command sources.
std::string RunTool(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  pclose(pipe);
  return output;
}

TEST(CommandCompileTest, ANonSerializableFieldIsNamedInTheError) {
  if (RunTool("command -v clang++-19").empty()) GTEST_SKIP() << "clang++-19 is not installed";
  rexec::testing::TempDir dir;
  std::string source = dir.Write("bad.cpp", R"(
    #include <rexec/command.h>
    struct Opaque {};
    struct Bad { int ok = 0; Opaque p; void main() {} REXEC_FIELDS(ok, p) };
  )");
  std::string output =
      RunTool("clang++-19 -std=c++17 -fsyntax-only -I" REXEC_INCLUDE_DIR " " + source);
  EXPECT_THAT(output, HasSubstr("field 'p' of this command is not serializable"));
  EXPECT_THAT(output, ::testing::Not(HasSubstr("field 'ok'")));
}

TEST(CommandCompileTest, OptimizedBitcodeKeepsTheEntryAndTheDescriptor) {
  if (RunTool("command -v llvm-nm-19").empty()) GTEST_SKIP() << "llvm-nm-19 is not installed";
  rexec::testing::TempDir dir;
  std::string source = dir.Write("good.cpp", R"(
    #include <rexec/command.h>
    struct Good { int x = 0; void main() { ++x; } REXEC_FIELDS(x) };
    REXEC_COMMAND(Good)
  )");
  std::string bitcode = (dir.path() / "good.bc").string();
  RunTool("clang++-19 -O2 -std=c++17 -c -emit-llvm -I" REXEC_INCLUDE_DIR " -o " + bitcode + " " +
          source);
  std::string symbols = RunTool("llvm-nm-19 " + bitcode);
  EXPECT_THAT(symbols, HasSubstr("rexec.command.Good"));
  EXPECT_THAT(symbols, HasSubstr("rexec.meta.Good"));
}

}  // namespace
