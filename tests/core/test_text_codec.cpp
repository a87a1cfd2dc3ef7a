// Settings as text: floats read back bit-identical, whole-text parsing, one "unknown" wording.
#include <doctest/doctest.h>

#include <cstring>
#include <limits>

#include "core/text_codec.h"

using namespace attn;

TEST_CASE("a float formatted and read back is the same float") {
  for (float x : {0.1f, 1e-4f, 3.14159274f, -2.5e-30f, 1e30f, 0.0f, std::numeric_limits<float>::max()}) {
    const auto back = read_float(format_float(x));
    REQUIRE(back);
    CHECK(std::memcmp(&*back, &x, sizeof x) == 0);
  }
  CHECK(format_float(0.5f) == "0.5");
  CHECK(format_float(0.1f) == "0.100000001");
  for (float x : {0.1f, 1e-4f, 3.14159274f, -2.5e-30f, 1e30f, 0.0f, 256.0f}) {
    const auto back = read_float(format_float_short(x));
    REQUIRE(back);
    CHECK(*back == x);
  }
  CHECK(format_float_short(0.1f) == "0.1");
  CHECK(format_float_short(1e-4f) == "0.0001");
  CHECK(format_float_short(256.0f) == "256");
}

TEST_CASE("numbers are read only when the whole text is one") {
  CHECK(!read_float(""));
  CHECK(!read_float("1.5x"));
  CHECK(!read_float(std::string("0.1\0x", 5)));  // not 0.1: strtof stops at the NUL, the text goes on
  CHECK(!read_int(std::string("12\0", 3)));
  CHECK(!read_float("1e99"));  // overflows a float
  CHECK(*read_int("-12") == -12);
  CHECK(!read_int("12 "));
  CHECK(!read_int("99999999999999999999"));
  CHECK(*read_count("42") == 42u);
  CHECK(!read_count("-1"));
  CHECK(!read_count("+1"));
  CHECK(!read_count(""));
}

TEST_CASE("numbers have one spelling: decimal, no spaces, no '+', no hex, finite") {
  CHECK(*read_float("0.001") == 0.001f);
  CHECK(*read_float("1e-3") == 0.001f);
  CHECK(*read_float("-2.5E+2") == -250.0f);  // format_float writes exponents with a sign
  CHECK(*read_float(".5") == 0.5f);
  CHECK(*read_float("5.") == 5.0f);
  CHECK(*read_float("16") == 16.0f);
  for (const char* bad : {" 1", "1 ", "+1", "0x10", "0x1p-2", "0x.8",  "inf", "-inf", "infinity", "nan", "NAN",
                          ".",  "-",  "e5", "1e",   "1e+",    "1.5.2", "1,5", "--1",  "\t1",      "1\n"})
    CHECK_MESSAGE(!read_float(bad), bad);
  CHECK(*read_int("0") == 0);
  CHECK(*read_int("-7") == -7);
  for (const char* bad : {" 5", "5 ", "+5", "0x10", "5.0", "1e3", "-", "", "--5", "\t5"})
    CHECK_MESSAGE(!read_int(bad), bad);
}

TEST_CASE("bools are true/false or 1/0") {
  CHECK(*read_bool("true"));
  CHECK(*read_bool("1"));
  CHECK(!*read_bool("false"));
  CHECK(!*read_bool("0"));
  CHECK(!read_bool("yes"));
  CHECK(format_bool(true) == "true");
  CHECK(format_bool(false) == "false");
}

TEST_CASE("an unknown name lists the known ones") {
  CHECK(join_names({"a", "b", "c"}) == "a, b, c");
  CHECK(join_names({"a", "b"}, " | ") == "a | b");
  CHECK(join_names({}) == "");
  CHECK(join_names({"", "b", ""}, "\t") == "\tb\t");  // empty names keep their place
  CHECK(is_one_of("b", {"a", "b"}));
  CHECK(!is_one_of("", {"a", "b"}));
  CHECK(unknown_name_message("optimizer", "x", {"sgd", "adam"}) == "unknown optimizer 'x' (known: sgd, adam)");
}

TEST_CASE("counts get a comma every three digits from the right") {
  CHECK(format_count(0) == "0");
  CHECK(format_count(999) == "999");
  CHECK(format_count(1000) == "1,000");
  CHECK(format_count(5293568) == "5,293,568");
  CHECK(format_count(18446744073709551615ULL) == "18,446,744,073,709,551,615");
}
