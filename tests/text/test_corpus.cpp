#include <doctest/doctest.h>

#include <sstream>

#include "core/error.h"
#include "text/corpus.h"
#include "text/tokenizer.h"

using namespace attn;

namespace {

vocab from_tsv(const std::string& text, const column_spec& column) {
  vocab_options o;
  o.kind = tokenizer_kind::word;
  o.size = 100;
  vocab_builder b(o);
  std::istringstream in(text);
  add_corpus(b, in, "pairs.tsv", column);
  return b.build();
}

bool has(const vocab& v, const std::string& t) {
  return std::find(v.tokens.begin(), v.tokens.end(), t) != v.tokens.end();
}

}  // namespace

TEST_CASE("--column parsing: 1-based numbers or 'all'") {
  column_spec c;
  CHECK(parse_column("1", c));
  CHECK(c.index == 1);
  CHECK(parse_column("all", c));
  CHECK(c.all);
  CHECK_FALSE(parse_column("0", c));
  CHECK_FALSE(parse_column("-1", c));
  CHECK_FALSE(parse_column("x", c));
  CHECK_FALSE(parse_column("", c));
}

TEST_CASE("one field, every field, or the whole line of a parallel corpus") {
  const std::string tsv = "the house\tla maison\ngood day\tbonjour\n";
  const vocab en = from_tsv(tsv, {1, false});
  CHECK(has(en, " house"));
  CHECK_FALSE(has(en, "maison"));
  CHECK_FALSE(has(en, "\t"));
  const vocab fr = from_tsv(tsv, {2, false});
  CHECK(has(fr, " maison"));
  CHECK(has(fr, "bonjour"));
  CHECK_FALSE(has(fr, "the"));
  const vocab both = from_tsv(tsv, {0, true});
  CHECK(has(both, "the"));
  CHECK(has(both, "la"));  // each field starts a line of its own: no leading space, no tab
  CHECK_FALSE(has(both, "\t"));
  const vocab whole = from_tsv(tsv, {});
  CHECK(has(whole, "\t"));
}

TEST_CASE("a line without the asked field is an error naming the line") {
  CHECK_THROWS_WITH_AS(from_tsv("a\tb\nc\n", {2, false}),
                       "'pairs.tsv' line 2 has 1 tab-separated field, but --column 2 was asked for", attn::error);
}
