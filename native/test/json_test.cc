// Tests of the strict JSON reader/writer (native/common/json.h).
#include <cstdint>
#include <string>

#include "common/json.h"
#include "test/test_util.h"

namespace {

using wdm::json::Error;
using wdm::json::Parse;
using wdm::json::Value;

// Parses `text`, expecting success.
Value Ok(const std::string& text) {
  Value value;
  Error error;
  if (!CHECK(Parse(text, &value, &error))) {
    std::fprintf(stderr, "  parse of %s failed: %s\n", text.c_str(), error.ToString().c_str());
  }
  return value;
}

// Parses `text`, expecting failure at `offset` with a message containing `fragment`.
bool Fails(const std::string& text, std::size_t offset, const std::string& fragment,
           const wdm::json::Limits& limits = wdm::json::Limits()) {
  Value value = Value::Bool(true);
  Error error;
  const bool ok = Parse(text, &value, &error, limits);
  const bool good = !ok && value.is_null() && error.offset == offset &&
                    error.message.find(fragment) != std::string::npos;
  if (!good) {
    std::fprintf(stderr, "  %s: ok=%d offset=%zu message=%s (wanted %zu, '%s')\n", text.c_str(), ok,
                 error.offset, error.message.c_str(), offset, fragment.c_str());
  }
  return good;
}

std::string Compact(const Value& value) {
  std::string out;
  std::string error;
  CHECK(wdm::json::Write(value, &out, &error));
  return out;
}

std::string Pretty(const Value& value) {
  std::string out;
  std::string error;
  wdm::json::WriteOptions options;
  options.pretty = true;
  CHECK(wdm::json::Write(value, &out, &error, options));
  return out;
}

void TestScalars() {
  CHECK(Ok("null").is_null());
  CHECK(Ok(" true ").bool_value());
  CHECK(Ok("false").is_bool() && !Ok("false").bool_value());
  CHECK_EQ(Ok("0").int_value(), 0);
  CHECK_EQ(Ok("-0").int_value(), 0);
  CHECK_EQ(Ok("9223372036854775807").int_value(), INT64_MAX);
  CHECK_EQ(Ok("-9223372036854775808").int_value(), INT64_MIN);
  const Value big = Ok("9223372036854775808");  // does not fit int64: a double
  CHECK(big.is_number() && !big.is_int() && big.number_value() == 9223372036854775808.0);
  CHECK(Ok("1.5").number_value() == 1.5 && !Ok("1.5").is_int());
  CHECK(Ok("1e3").number_value() == 1000.0 && !Ok("1e3").is_int());
  CHECK(Ok("-2.5E-3").number_value() == -0.0025);
  CHECK(Ok("1e-400").number_value() == 0.0);  // underflow reads as zero
  CHECK_EQ(Ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"").string_value(),
           std::string("a\"b\\c/d\b\f\n\r\t"));
  CHECK_EQ(Ok("\"\\u00e9\\u20AC\\ud83d\\ude00\"").string_value(),
           std::string("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  CHECK_EQ(Ok("\"\\u0000\"").string_value(), std::string(1, '\0'));
  CHECK_EQ(Ok("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"").string_value(),
           std::string("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
}

void TestContainers() {
  const Value v = Ok(" { \"b\" : [1, 2, {\"x\": null}], \"a\": {}, \"c\": [] } ");
  CHECK(v.is_object());
  CHECK_EQ(v.size(), std::size_t{3});
  CHECK_EQ(v.members()[0].first, std::string("a"));  // sorted
  CHECK_EQ(v.members()[2].first, std::string("c"));
  const Value* b = v.Find("b");
  CHECK(b != nullptr && b->is_array() && b->size() == 3 && b->items()[1].int_value() == 2);
  CHECK(b != nullptr && b->items()[2].Find("x") != nullptr && b->items()[2].Find("x")->is_null());
  CHECK(v.Find("nope") == nullptr);
  CHECK_EQ(Compact(v), std::string("{\"a\":{},\"b\":[1,2,{\"x\":null}],\"c\":[]}"));
  CHECK_EQ(Pretty(v),
           std::string("{\n  \"a\": {},\n  \"b\": [\n    1,\n    2,\n    {\n      \"x\": "
                       "null\n    }\n  ],\n  \"c\": []\n}"));
}

void TestErrors() {
  CHECK(Fails("", 0, "unexpected end of input"));
  CHECK(Fails("   ", 3, "unexpected end of input"));
  CHECK(Fails("nul", 0, "invalid literal"));
  CHECK(Fails("True", 0, "unexpected character"));
  CHECK(Fails("1 2", 2, "after the JSON value"));
  CHECK(Fails("{\"a\":1,}", 7, "trailing comma"));
  CHECK(Fails("[1,]", 3, "trailing comma"));
  CHECK(Fails("[1 2]", 3, "expected ',' or ']'"));
  CHECK(Fails("{\"a\" 1}", 5, "expected ':'"));
  CHECK(Fails("{a:1}", 1, "expected a string key"));
  CHECK(Fails("{\"a\":1,\"b\":2,\"a\":3}", 13, "duplicate key \"a\""));
  CHECK(Fails("'a'", 0, "unexpected character"));
  CHECK(Fails("// c\n1", 0, "unexpected character"));
  CHECK(Fails("NaN", 0, "unexpected character"));
  CHECK(Fails("-Infinity", 1, "expected a digit"));
  CHECK(Fails("+1", 0, "unexpected character"));
  CHECK(Fails("01", 1, "leading zero"));
  CHECK(Fails("1.", 2, "after '.'"));
  CHECK(Fails(".5", 0, "unexpected character"));
  CHECK(Fails("1e", 2, "exponent"));
  CHECK(Fails("1e400", 0, "out of range"));
  CHECK(Fails("-1e400", 0, "out of range"));
  CHECK(Fails("\xEF\xBB\xBF{}", 0, "byte order mark"));
  CHECK(Fails("\"abc", 4, "unterminated string"));
  CHECK(Fails("\"a\nb\"", 2, "control character"));
  CHECK(Fails("\"\\x\"", 1, "invalid escape"));
  CHECK(Fails("\"\\u12G4\"", 1, "4 hex digits"));
  CHECK(Fails("\"\\ud83d\"", 1, "unpaired high surrogate"));
  CHECK(Fails("\"\\ud83d\\u0041\"", 1, "unpaired high surrogate"));
  CHECK(Fails("\"\\ude00\"", 1, "unpaired low surrogate"));
  CHECK(Fails("\"\xC0\xAF\"", 1, "invalid UTF-8"));          // overlong '/'
  CHECK(Fails("\"\xE0\x80\xAF\"", 1, "invalid UTF-8"));      // overlong
  CHECK(Fails("\"\xED\xA0\x80\"", 1, "invalid UTF-8"));      // encoded surrogate
  CHECK(Fails("\"\xF4\x90\x80\x80\"", 1, "invalid UTF-8"));  // > U+10FFFF
  CHECK(Fails("\"ab\xE2\x82\"", 3, "invalid UTF-8"));        // truncated
  CHECK(Fails("\"\xFF\"", 1, "invalid UTF-8"));
  CHECK(Fails("\"\x80\"", 1, "invalid UTF-8"));
  // Limits.
  wdm::json::Limits limits;
  limits.max_depth = 3;
  Value v;
  Error e;
  CHECK(Parse("[[[1]]]", &v, &e, limits));
  CHECK(Fails("[[[[1]]]]", 3, "deeper than the limit of 3", limits));
  CHECK(Fails("{\"a\":{\"b\":{\"c\":{}}}}", 15, "deeper", limits));
  limits = wdm::json::Limits();
  limits.max_bytes = 4;
  CHECK(Parse("true", &v, &e, limits));
  CHECK(Fails("false", 4, "longer than the limit of 4 bytes", limits));
  // Default depth limit protects the stack from deep input.
  CHECK(Fails(std::string(100000, '['), 64, "deeper"));
  // Line and column.
  CHECK(!Parse("{\n  \"a\": 1,\n  \"b\" 2\n}", &v, &e));
  CHECK_EQ(e.line, std::size_t{3});
  CHECK_EQ(e.column, std::size_t{7});
  CHECK_EQ(e.ToString(), std::string("line 3, column 7 (byte 18): expected ':'"));
}

void TestWriter() {
  Value v;
  v.Set("z", Value::String("last"));
  v.Set("a", Value::Int(-5));
  v.Set("m", Value::Double(0.1));
  v.Set("ctl", Value::String(std::string("q\"\\\x01\x1f\x7f\n\xC3\xA9", 9)));
  v.mutable_member("list").Append(Value::Bool(true));
  v.mutable_member("list").Append(Value());
  v.Set("a", Value::Int(7));  // replaces
  CHECK_EQ(Compact(v), std::string("{\"a\":7,\"ctl\":\"q\\\"\\\\\\u0001\\u001f\x7f\\n\xC3\xA9\","
                                   "\"list\":[true,null],\"m\":0.1,\"z\":\"last\"}"));
  CHECK(v.Erase("z") && !v.Erase("z"));
  CHECK_EQ(v.size(), std::size_t{4});
  // Round trip: parse(write(v)) == v, and write is deterministic.
  Value back;
  Error e;
  CHECK(Parse(Compact(v), &back, &e));
  CHECK(back == v);
  CHECK(Parse(Pretty(v), &back, &e));
  CHECK(back == v);
  CHECK_EQ(Compact(back), Compact(v));
  // Doubles: shortest text that reads back.
  for (double d : {0.1, 1.0 / 3.0, 1e21, 5e-324, -1.7976931348623157e308, 123456.789, 2.5}) {
    Value in = Value::Double(d);
    Value out;
    CHECK(Parse(Compact(in), &out, &e) && out.number_value() == d);
  }
  CHECK_EQ(Compact(Value::Double(2.5)), std::string("2.5"));
  CHECK_EQ(Compact(Value::Double(100.0)), std::string("100"));
  CHECK(Value::Double(100.0) == Value::Int(100));
  // Failures.
  std::string out;
  std::string error;
  CHECK(!wdm::json::Write(Value::String("a\xFF"), &out, &error));
  CHECK(error.find("not valid UTF-8 (byte 1)") != std::string::npos);
  Value bad_key;
  bad_key.Set("\xC0", Value());
  CHECK(!wdm::json::Write(bad_key, &out, &error));
  CHECK(!wdm::json::Write(Value::Double(1.0 / 0.0), &out, &error));
  CHECK(error.find("not finite") != std::string::npos);
  Value deep;
  Value* at = &deep;
  for (int i = 0; i < 70; ++i) at = &at->Append(Value());
  CHECK(!wdm::json::Write(deep, &out, &error));
  // Typed reads of the wrong type give zero values.
  const Value s = Value::String("x");
  CHECK(s.int_value() == 0 && !s.bool_value() && s.items().empty() && s.members().empty() &&
        s.Find("x") == nullptr && s.size() == 0);
  CHECK(Value().string_value().empty());
  CHECK(!(Value::String("1") == Value::Int(1)));
  CHECK(wdm::json::IsValidUtf8("\xE2\x82\xAC"));
  std::size_t bad = 0;
  CHECK(!wdm::json::IsValidUtf8("ab\xE2\x82", &bad) && bad == 2);
}

// Mutated documents never crash the reader (ASan/UBSan watch this) and anything it accepts
// writes and reads back equal.
void TestFuzz() {
  const std::string seed =
      "{\"format\":\"x\",\"n\":[1,-2.5e3,true,null,\"\\u00e9\\ud83d\\ude00\"],\"o\":{\"k\":"
      "\"v\\n\"}}";
  std::uint32_t state = 99;
  auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  const std::string pieces[] = {"{",    "}",        "[",    "]",   ",", ":",
                                "\"",   "\\",       "\\u",  "1e9", "-", "\xC3",
                                "\xA9", "\xF0\x9F", "null", " ",   "0", "\"k\":"};
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = seed;
    const int edits = 1 + next() % 3;
    for (int i = 0; i < edits; ++i) {
      const std::size_t pos = next() % (text.size() + 1);
      if (next() % 3 == 0) {
        if (pos < text.size()) text.erase(pos, 1 + next() % 4);
      } else {
        text.insert(pos, pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))]);
      }
    }
    Value value;
    Error error;
    if (!Parse(text, &value, &error)) {
      if (!CHECK(error.offset <= text.size())) break;
      continue;
    }
    ++accepted;
    Value back;
    if (!CHECK(Parse(Compact(value), &back, &error) && back == value)) break;
  }
  CHECK(accepted > 0);
}

}  // namespace

int main() {
  RUN(TestScalars);
  RUN(TestContainers);
  RUN(TestErrors);
  RUN(TestWriter);
  RUN(TestFuzz);
  return wdm::test::Finish("json_test");
}
