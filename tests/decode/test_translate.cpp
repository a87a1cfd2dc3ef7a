// translate(): the batch generator -> search -> printer behind `attn decode`.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "decode/greedy.h"
#include "decode/translate.h"
#include "loaded_helpers.h"
#include "models/task.h"

using namespace attn;
using namespace attn::decode_testing;

namespace {

const std::vector<std::string> inputs = {"abc", "g", "", "fedcba", "ab", "bbbbbbbbbbbbbb", "cafe", "d"};

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string run(loaded_model& m, const std::string& text, const translate_options& o, translate_report* r = nullptr,
                const line_progress& progress = {}) {
  std::istringstream in(text);
  std::ostringstream out;
  const translate_report got = translate(m, in, out, o, progress);
  if (r) *r = got;
  return out.str();
}

// Each line decoded on its own with greedy_decode, as the task says (source ids, budget, start).
std::string greedy_alone(loaded_model& m, const std::string& line, std::size_t max_len) {
  const task& use = task_of(*m.net);
  bool cut = false;
  const std::vector<std::int32_t> ids = use.source_ids(*m.src, line, max_len, cut);
  batch b;
  b.size = 1;
  b.src = ids;
  b.src_len = ids.size();
  b.src_lengths = {static_cast<std::int32_t>(ids.size())};
  tape t;
  const auto hyp = greedy_decode(*m.net, t, b, use.decode_budget(max_len, b.src_len), use.start_token).at(0);
  std::string text;
  m.tgt().decode(hyp, text);
  return text;
}

}  // namespace

TEST_CASE("translate gives each line its own greedy output, in input order, whatever the batching") {
  for (const char* family : {"transformer", "rnn", "lm"}) {
    CAPTURE(family);
    loaded_model m = random_model(family);
    std::vector<std::string> want;
    for (const auto& l : inputs) want.push_back(greedy_alone(m, l, 10));
    for (std::size_t batch_size : {1, 3, 32}) {
      CAPTURE(batch_size);
      translate_options o;
      o.batch_size = batch_size;
      o.chunk_lines = 3;  // chunks end mid-input: n-best indices and order must run across them
      translate_report r;
      CHECK(split_lines(run(m, joined(inputs), o, &r)) == want);
      CHECK(r.lines == inputs.size());
      CHECK(r.cut == 1);  // the 14 b's (the lm prompt too: max_len 10)
      CHECK(r.tabbed == 0);
    }
  }
}

TEST_CASE("n-best: N lines per input, `index ||| text ||| score`, 0-based indices, scores best first") {
  for (const char* family : {"transformer", "lm", "classifier"}) {
    CAPTURE(family);
    loaded_model m = random_model(family);
    translate_options o;
    o.n_best = 2;
    o.beam.beam_size = 3;
    o.beam.n_best = 2;
    o.chunk_lines = 3;
    const std::vector<std::string> lines = split_lines(run(m, joined(inputs), o));
    REQUIRE(lines.size() == 2 * inputs.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      CAPTURE(lines[i]);
      const std::size_t a = lines[i].find(" ||| "), b = lines[i].rfind(" ||| ");
      REQUIRE(a != std::string::npos);
      REQUIRE(b > a);
      CHECK(lines[i].substr(0, a) == std::to_string(i / 2));
      const float score = std::stof(lines[i].substr(b + 5));
      CHECK(score <= 0.0f);
      if (i % 2 == 1) CHECK(score <= std::stof(lines[i - 1].substr(lines[i - 1].rfind(" ||| ") + 5)));
    }
  }
}

TEST_CASE("a classifier prints its most probable label; n-best lists labels with log-probs") {
  loaded_model m = random_model("classifier");
  translate_options o;
  const std::vector<std::string> best = split_lines(run(m, joined(inputs), o));
  REQUIRE(best.size() == inputs.size());
  o.n_best = 3;
  const std::vector<std::string> all = split_lines(run(m, joined(inputs), o));
  REQUIRE(all.size() == 3 * inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    CHECK(all[3 * i].find(std::to_string(i) + " ||| " + best[i] + " ||| ") == 0);
    double mass = 0;
    std::vector<std::string> labels;
    for (std::size_t j = 0; j < 3; ++j) {
      const std::string& l = all[3 * i + j];
      const std::size_t a = l.find(" ||| "), b = l.rfind(" ||| ");
      labels.push_back(l.substr(a + 5, b - a - 5));
      mass += std::exp(std::stod(l.substr(b + 5)));
    }
    std::sort(labels.begin(), labels.end());
    CHECK(labels == std::vector<std::string>{"x", "y", "z"});
    CHECK(mass == doctest::Approx(1.0).epsilon(1e-4));
  }
  o.n_best = 0;
  o.sample = true;
  CHECK_THROWS_AS(run(m, "abc\n", o), error);
}

TEST_CASE("tabs: seq2seq decodes the source before the first tab; others keep the tab in the text") {
  loaded_model s2s = random_model("transformer");
  translate_options o;
  translate_report r;
  CHECK(run(s2s, "abc\tref\r\nd\n", o, &r) == run(s2s, "abc\nd\n", o));
  CHECK(r.tabbed == 1);
  loaded_model cls = random_model("classifier");
  run(cls, "a\tb\nc\n", o, &r);
  CHECK(r.tabbed == 1);
  CHECK(r.lines == 2);
}

TEST_CASE("sampling draws per line: the same lines give the same output whatever the batch size") {
  loaded_model m = random_model("lm");
  translate_options o;
  o.sample = true;
  o.sampling.seed = 7;
  o.batch_size = 1;
  const std::string one = run(m, joined(inputs), o);
  o.batch_size = 4;
  CHECK(run(m, joined(inputs), o) == one);
  CHECK(split_lines(one).size() == inputs.size());
}

TEST_CASE("progress is reported after every batch, rising to the number of lines") {
  loaded_model m = random_model("rnn");
  translate_options o;
  o.batch_size = 2;
  o.chunk_lines = 3;
  std::vector<std::size_t> seen;
  run(m, joined(inputs), o, nullptr, [&](std::size_t done) { seen.push_back(done); });
  REQUIRE(!seen.empty());
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(seen.back() == inputs.size());
  CHECK(seen.size() >= inputs.size() / 2);
}

TEST_CASE("options that do not fit throw") {
  loaded_model m = random_model("transformer");
  translate_options o;
  o.batch_size = 0;
  CHECK_THROWS_AS(run(m, "a\n", o), error);
  o.batch_size = 1;
  o.max_len = 1;
  CHECK_THROWS_AS(run(m, "a\n", o), error);
  o.max_len = 0;
  CHECK(run(m, "", o).empty());
}
