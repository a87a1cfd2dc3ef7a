// attend(): the attention CSV behind `attn attention`.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "decode/attend.h"
#include "loaded_helpers.h"

using namespace attn;
using namespace attn::decode_testing;

namespace {

const char* const header = "sentence,module,kind,layer,head,query_pos,query_token,key_pos,key_token,weight";

// The CSV rows (header checked and dropped), split at commas (the letter pieces hold none).
std::vector<std::vector<std::string>> rows(loaded_model& m, const std::string& text, const attend_options& o,
                                           attend_report* r = nullptr) {
  std::istringstream in(text);
  std::ostringstream out;
  const attend_report got = attend(m, in, out, o);
  if (r) *r = got;
  std::istringstream csv(out.str());
  std::string line;
  REQUIRE(std::getline(csv, line));
  CHECK(line == header);
  std::vector<std::vector<std::string>> out_rows;
  while (std::getline(csv, line)) {
    std::vector<std::string> fields;
    std::istringstream f(line);
    for (std::string x; std::getline(f, x, ',');) fields.push_back(x);
    REQUIRE(fields.size() == 10);
    out_rows.push_back(fields);
  }
  return out_rows;
}

// The maps of the model for an lm sentence: <eos> + the text.
std::vector<attention_map> lm_maps(loaded_model& m, const std::string& text) {
  batch b;
  b.size = 1;
  b.src = {eos_id};
  m.src->encode(text, b.src);
  b.src_len = b.src.size();
  b.src_lengths = {static_cast<std::int32_t>(b.src_len)};
  b.tgt_out.assign(b.src.begin() + 1, b.src.end());
  b.tgt_out.push_back(eos_id);
  tape t;
  return m.net->attention_maps(t, b);
}

}  // namespace

TEST_CASE("an lm dump has one row per (map, head, query, key) of the model's maps, sentences 0-based") {
  loaded_model m = random_model("lm");
  attend_options o;
  attend_report r;
  const auto all = rows(m, "abc\nde\n", o, &r);
  CHECK(r.lines == 2);
  CHECK(r.cut == 0);
  std::size_t want = 0;
  for (const char* text : {"abc", "de"})
    for (const attention_map& a : lm_maps(m, text)) want += a.heads * a.q_len * a.k_len;
  CHECK(all.size() == want);
  CHECK(all.front()[0] == "0");
  CHECK(all.back()[0] == "1");
  CHECK(all.front()[6] == "<eos>");  // the line follows an <eos>
  // Every query's weights over its keys sum to 1.
  std::map<std::tuple<std::string, std::string, std::string, std::string>, double> sums;
  for (const auto& row : all) sums[{row[0], row[1], row[4], row[5]}] += std::stod(row[9]);
  for (const auto& [key, sum] : sums) CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));

  o.head_mean = true;
  CHECK(rows(m, "abc\nde\n", o).size() == want / 2);  // 2 heads -> one mean
  o.head_mean = false;
  o.layer = 1;
  o.head = 0;
  const auto one = rows(m, "abc\nde\n", o);
  CHECK(one.size() == want / 4);  // one layer of two, one head of two
  for (const auto& row : one) CHECK((row[3] == "1" && row[4] == "0"));
}

TEST_CASE("seq2seq: cross by default, a given target or the greedy translation; kind all adds self") {
  loaded_model m = random_model("transformer");
  attend_options o;
  const auto cross = rows(m, "abc\tde\n", o);
  // 2 layers x 2 heads x target queries (d e <eos> = 3) x source keys (a b c <eos> = 4)
  CHECK(cross.size() == 2 * 2 * 3 * 4);
  for (const auto& row : cross) CHECK(row[2] == "cross");
  o.kind = "all";
  // + encoder self 2*2*4*4 + decoder self 2*2*3*3
  CHECK(rows(m, "abc\tde\n", o).size() == 48 + 64 + 36);
  o.kind = "";
  const auto greedy = rows(m, "abc\n", o);  // the target is the model's own translation
  CHECK(!greedy.empty());
  CHECK(greedy.size() % (2 * 2 * 4) == 0);
}

TEST_CASE("rnn: one cross-attention of one head; a classifier: self over <bos> text") {
  loaded_model rnn = random_model("rnn");
  attend_options o;
  const auto r = rows(rnn, "ab\tc\n", o);
  CHECK(r.size() == 2 * 3);  // queries c <eos>, keys a b <eos>
  loaded_model cls = random_model("classifier");
  const auto c = rows(cls, "ab\n", o);
  CHECK(c.size() == 2 * 2 * 3 * 3);  // 2 layers x 2 heads x (<bos> a b)^2
  CHECK(c.front()[6] == "<bos>");
}

TEST_CASE("max_len cuts sequences and counts them; errors name the 1-based line") {
  loaded_model m = random_model("transformer");
  attend_options o;
  o.max_len = 3;
  attend_report r;
  rows(m, "abcdef\tabcdef\n", o, &r);
  CHECK(r.cut == 2);  // source and target
  o.max_len = 0;
  std::istringstream in("ab\na\tb\tc\n");
  std::ostringstream out;
  try {
    attend(m, in, out, o);
    FAIL("no throw");
  } catch (const error& e) {
    CHECK(std::string(e.what()).find("line 2:") == 0);
  }
  o.kind = "self";
  loaded_model rnn = random_model("rnn");
  std::istringstream again("a\n");
  CHECK_THROWS_AS(attend(rnn, again, out, o), error);  // an rnn has no self-attention
}

TEST_CASE("csv_field quotes commas, quotes and line breaks") {
  CHECK(csv_field("abc") == "abc");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("a\nb") == "\"a\nb\"");
}

TEST_CASE("attend_maps gives the CSV's weights one (sentence, module, head) at a time, in the CSV's order") {
  loaded_model m = random_model("transformer");
  attend_options o;
  o.kind = "all";
  const auto csv = rows(m, "abc\tde\nfg\tab\n", o);
  std::istringstream in("abc\tde\nfg\tab\n");
  std::vector<std::string> flat;  // the maps written out as the CSV's fields, to compare
  std::size_t maps = 0;
  const attend_report r = attend_maps(m, in, o, [&](const head_map& h) {
    ++maps;
    REQUIRE(h.weights.size() == h.queries() * h.keys());
    for (std::size_t q = 0; q < h.queries(); ++q) {
      double sum = 0;
      for (std::size_t k = 0; k < h.keys(); ++k) {
        sum += h.at(q, k);
        flat.push_back(std::to_string(h.sentence) + ',' + h.module + ',' + std::to_string(h.head) + ',' +
                       std::to_string(q) + ',' + (*h.query_tokens)[q] + ',' + std::to_string(k) + ',' +
                       (*h.key_tokens)[k]);
      }
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));
    }
  });
  CHECK(r.lines == 2);
  CHECK(maps == 2 * 3 * 2 * 2);  // 2 sentences x 3 modules per layer x 2 layers x 2 heads
  REQUIRE(flat.size() == csv.size());
  for (std::size_t i = 0; i < csv.size(); ++i)
    CHECK(flat[i] == csv[i][0] + ',' + csv[i][1] + ',' + csv[i][4] + ',' + csv[i][5] + ',' + csv[i][6] + ',' +
                         csv[i][7] + ',' + csv[i][8]);
  o.head_mean = true;
  std::istringstream again("abc\tde\n");
  attend_maps(m, again, o, [&](const head_map& h) { CHECK(h.head == -1); });
}
