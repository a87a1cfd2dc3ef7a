// A settings struct described once by its visitor: text form, reading one field, the field list.
#include "core/config_fields.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>

#include "core/error.h"

namespace attn {
namespace {

struct toy_config {
  std::string mode = "fast";
  float rate = 0.5f;
  std::size_t count = 3;
  std::int64_t offset = -2;
  bool on = true;
  std::string note = "x";
};

}  // namespace

template <class F>
void visit_fields(toy_config& c, F&& f) {
  f("mode", c.mode, field_about("how", {"fast", "slow", "quick"}, {"quick"}).called("a mode"));
  f("rate", c.rate, field_about("a rate").command_line_default("0.25"));
  f("count", c.count, field_about("how many"));
  f("offset", c.offset, field_about("where").option_named("shift"));
  f("on", c.on, field_about("whether"));
  f("note", c.note, field_about("kept").not_an_option());
}

}  // namespace attn

using namespace attn;

TEST_CASE("fields_of: every field in visitor order, with defaults, choices, flags and option names") {
  const auto fields = fields_of<toy_config>();
  REQUIRE(fields.size() == 6);
  CHECK(fields[0].key == "mode");
  CHECK(fields[0].choices == std::vector<std::string>{"fast", "slow"});  // the alias is not offered
  CHECK(fields[0].noun == "a mode");
  CHECK(fields[1].default_text == "0.5");
  CHECK(fields[1].option_default == "0.25");
  CHECK(fields[2].option_default == "3");
  CHECK(fields[3].option == "shift");
  CHECK(fields[4].is_flag);
  CHECK_FALSE(fields[2].is_flag);
  CHECK(fields[5].option.empty());
  CHECK(fields[5].default_text == "x");
}

TEST_CASE("fields_to_map and fields_from_map: a round trip is exact, bad keys and values are named") {
  toy_config c;
  c.mode = "slow";
  c.rate = 0.1f;  // not exact in binary: 9 digits read back bit-identical
  c.count = 7;
  c.offset = -40;
  c.on = false;
  const auto m = fields_to_map(c);
  CHECK(m.size() == 6);
  const toy_config r = fields_from_map<toy_config>(m, "toy");
  CHECK(r.mode == "slow");
  CHECK(r.rate == c.rate);
  CHECK(r.count == 7);
  CHECK(r.offset == -40);
  CHECK_FALSE(r.on);
  CHECK(fields_from_map<toy_config>({{"mode", "quick"}}, "toy").mode == "quick");  // an alias reads
  CHECK_THROWS_WITH_AS(fields_from_map<toy_config>({{"speed", "1"}}, "toy"), "unknown toy setting 'speed'", error);
  CHECK_THROWS_WITH_AS(fields_from_map<toy_config>({{"rate", "x"}}, "toy"),
                       "toy setting 'rate': 'x' is not a number", error);
  CHECK_THROWS_WITH_AS(fields_from_map<toy_config>({{"mode", "warp"}}, "toy"),
                       "toy setting 'mode': 'warp' is not one of fast, slow", error);
}

TEST_CASE("read_field: the status says what went wrong, and the field is untouched unless it read") {
  toy_config c;
  CHECK(read_field(c, "count", "12").status == field_read::done);
  CHECK(c.count == 12);
  field_read r = read_field(c, "count", "-1");
  CHECK(r.status == field_read::bad_text);
  CHECK(r.expected == "a non-negative integer");
  CHECK(c.count == 12);
  r = read_field(c, "offset", "1.5");
  CHECK(r.status == field_read::bad_text);
  CHECK(r.expected == "an integer");
  CHECK(read_field(c, "on", "maybe").expected == "true or false");
  CHECK(read_field(c, "on", "0").status == field_read::done);
  CHECK_FALSE(c.on);
  r = read_field(c, "mode", "warp");
  CHECK(r.status == field_read::not_a_choice);
  CHECK(c.mode == "fast");
  CHECK(read_field(c, "nope", "1").status == field_read::unknown_key);
  CHECK(read_field(c, "rate", "-5").status == field_read::done);       // ranges are the caller's
  CHECK(read_field(c, "rate", "nan").status == field_read::bad_text);  // numbers are finite (text_codec.h)
}
