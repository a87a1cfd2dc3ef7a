// translate(): the batch generator -> search -> printer behind `attn decode`.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/gradcheck.h"
#include "core/threads.h"
#include "decode/greedy.h"
#include "decode/translate.h"
#include "loaded_helpers.h"
#include "models/lora.h"
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

namespace {

// "a ||| b ||| c" -> {"a", "b", "c"}
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  for (std::size_t from = 0;;) {
    const std::size_t at = line.find(" ||| ", from);
    out.push_back(line.substr(from, at - from));
    if (at == std::string::npos) return out;
    from = at + 5;
  }
}

std::vector<std::string> words(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; std::getline(in, w, separator);) out.push_back(w);
  return out;
}

// Checks a line's hard and soft alignments against each other and the source: one pair per target
// position 0..n-1, source positions within the source ids (its <eos> included), soft rows summing
// to 1 whose maximum is at the hard pair's source.
void check_alignments(const std::string& hard, const std::string& soft, std::size_t source_ids) {
  std::vector<std::size_t> src_of;  // per target position
  for (const std::string& pair : words(hard, ' ')) {
    const std::size_t dash = pair.find('-');
    REQUIRE(dash != std::string::npos);
    const std::size_t s = std::stoul(pair.substr(0, dash)), t = std::stoul(pair.substr(dash + 1));
    CHECK(s < source_ids);
    if (src_of.size() <= t) src_of.resize(t + 1, source_ids);
    CHECK(src_of[t] == source_ids);  // one pair per target position
    src_of[t] = s;
  }
  const std::vector<std::string> rows = words(soft, ' ');
  REQUIRE(rows.size() == src_of.size());
  for (std::size_t t = 0; t < rows.size(); ++t) {
    const std::vector<std::string> weights = words(rows[t], ',');
    REQUIRE(weights.size() == source_ids);
    double sum = 0, best = -1;
    for (const std::string& w : weights) {
      sum += std::stod(w);
      best = std::max(best, std::stod(w));
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));
    CHECK(std::stod(weights.at(src_of[t])) == best);  // a maximum (printed weights may tie in 6 digits)
  }
}

}  // namespace

TEST_CASE("alignment: `hypothesis ||| alignment` for greedy, beam and sampling; hard and soft agree") {
  for (const char* family : {"transformer", "rnn"}) {
    CAPTURE(family);
    loaded_model m = random_model(family);
    for (const char* search : {"greedy", "beam", "sample"}) {
      CAPTURE(search);
      translate_options o;
      o.chunk_lines = 3;
      o.batch_size = 3;
      if (std::string(search) == "beam") o.beam.beam_size = 3;
      o.sample = std::string(search) == "sample";
      const std::vector<std::string> plain = split_lines(run(m, joined(inputs), o));
      o.alignment = alignment_kind::hard;
      const std::vector<std::string> hard = split_lines(run(m, joined(inputs), o));
      o.alignment = alignment_kind::soft;
      const std::vector<std::string> soft = split_lines(run(m, joined(inputs), o));
      o.batch_size = 1;
      o.alignment = alignment_kind::hard;
      CHECK(split_lines(run(m, joined(inputs), o)) == hard);  // whatever the batching
      REQUIRE(hard.size() == inputs.size());
      REQUIRE(soft.size() == inputs.size());
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        CAPTURE(hard[i]);
        const std::vector<std::string> h = fields(hard[i]), s = fields(soft[i]);
        REQUIRE(h.size() == 2);
        REQUIRE(s.size() == 2);
        CHECK(h[0] == plain[i]);  // the hypothesis is unchanged
        CHECK(s[0] == plain[i]);
        bool cut = false;
        check_alignments(h[1], s[1], task_of(*m.net).source_ids(*m.src, inputs[i], 10, cut).size());
      }
    }
  }
}

TEST_CASE("alignment with n-best: `index ||| hypothesis ||| alignment ||| score`, the best first") {
  loaded_model m = random_model("transformer");
  translate_options o;
  o.beam.beam_size = 3;
  o.alignment = alignment_kind::hard;
  const std::vector<std::string> best = split_lines(run(m, joined(inputs), o));
  o.n_best = 2;
  o.beam.n_best = 2;
  const std::vector<std::string> n_best = split_lines(run(m, joined(inputs), o));
  o.alignment = alignment_kind::none;
  const std::vector<std::string> plain = split_lines(run(m, joined(inputs), o));
  REQUIRE(n_best.size() == 2 * inputs.size());
  REQUIRE(plain.size() == n_best.size());
  for (std::size_t i = 0; i < n_best.size(); ++i) {
    CAPTURE(n_best[i]);
    const std::vector<std::string> f = fields(n_best[i]), p = fields(plain[i]);
    REQUIRE(f.size() == 4);
    CHECK(f[0] == std::to_string(i / 2));
    CHECK(f[1] == p[1]);
    CHECK(f[3] == p[2]);
    if (i % 2 == 0) CHECK(f[1] + " ||| " + f[2] == best[i / 2]);
  }
}

TEST_CASE("alignment needs cross-attention and a layer of the model's") {
  translate_options o;
  o.alignment = alignment_kind::hard;
  for (const char* family : {"lm", "classifier"}) {
    loaded_model m = random_model(family);
    CHECK_THROWS_AS(run(m, "abc\n", o), error);
  }
  loaded_model t = random_model("transformer");  // 2 layers
  o.alignment_layer = 2;
  CHECK_THROWS_AS(run(t, "abc\n", o), error);
  o.alignment_layer = 0;
  CHECK(fields(split_lines(run(t, "abc\n", o)).at(0)).size() == 2);
  CHECK(rows(t.net->step_attention()) == 0);  // translate keeps no weights once it returns
  loaded_model r = random_model("rnn");
  CHECK(fields(split_lines(run(r, "abc\n", o)).at(0)).size() == 2);  // its one attention is layer 0
  o.alignment_layer = 1;
  CHECK_THROWS_AS(run(r, "abc\n", o), error);
}

TEST_CASE("workers: only with threads to run them, and not for batches of more than 256 rows") {
  const int before = threads();
  translate_options o;
  o.workers = 4;
  set_threads(1);
  CHECK(workers_for(o) == 1);
  if (set_threads(2) == 2) {
    CHECK(workers_for(o) == 2);  // capped at the threads
    o.batch_size = 256;
    CHECK(workers_for(o) == 2);
    o.beam.beam_size = 2;  // 512 rows
    CHECK(workers_for(o) == 1);
    o.sample = true;  // sampling keeps one row per sentence
    CHECK(workers_for(o) == 2);
    o.batch_size = std::size_t{1} << 62;  // no overflow
    o.sample = false;
    o.beam.beam_size = 8;
    CHECK(workers_for(o) == 1);
    o.batch_size = 4;
    o.workers = 1;
    CHECK(workers_for(o) == 1);
  }
  set_threads(before);
}

TEST_CASE("on two threads, workers decode batches at once, and every line's output is one thread's") {
  const int before = threads();
  if (set_threads(2) < 2) {
    MESSAGE("one core: the workers cannot run");
    set_threads(before);
    return;
  }
  struct search_case {
    const char* name;
    std::size_t beam, n_best;
    bool sample, align, half;
  };
  const search_case cases[] = {{"greedy", 1, 0, false, false, false}, {"greedy f16", 1, 0, false, false, true},
                               {"beam", 3, 0, false, false, false},   {"n-best aligned", 3, 2, false, true, false},
                               {"sample", 1, 0, true, false, false},  {"greedy aligned", 1, 0, false, true, false}};
  // batches of 8 rows: the rnn's LSTM splits its rows among threads from 8 on (not inside a worker)
  const std::string text = joined(inputs) + joined(inputs) + joined(inputs) + joined(inputs);
  for (const std::string family : {"transformer", "rnn", "lm", "classifier", "lm+lora"}) {
    const bool lora = family == "lm+lora";
    loaded_model m = random_model(lora ? "lm" : family);
    if (lora) {  // a trained adapter (B not zero): a copy without it would decode otherwise
      rng gen(4);
      lora_options lo;
      lo.rank = 2;
      lo.alpha = 4.0f;
      lo.targets = default_lora_targets();
      attach_lora(m.net->params(), lo, gen);
      for (parameter* p : m.net->params().all())
        if (is_lora_parameter(p->name)) attn::testing::fill_normal(p->value, gen, 0.3f);
    }
    const task& use = task_of(*m.net);
    for (const search_case& c : cases) {
      CAPTURE(family);
      const std::string name = c.name;
      CAPTURE(name);
      if (use.predicts_labels() && (c.sample || c.beam > 1 || c.align)) continue;
      if (c.align && !use.has_cross_attention) continue;
      translate_options o;
      o.batch_size = 8;  // 32 lines: chunks of 20 and 12 lines -> 3 + 2 batches (lm: more)
      o.chunk_lines = 20;
      o.beam.beam_size = c.beam;
      o.beam.n_best = std::max<std::size_t>(c.n_best, 1);
      o.n_best = c.n_best;
      o.sample = c.sample;
      o.sampling.seed = 3;
      o.alignment = c.align ? alignment_kind::soft : alignment_kind::none;
      o.kv_precision = c.half ? nn::kv_precision::f16 : nn::kv_precision::f32;
      o.workers = 2;
      o.min_worker_steps = 0;  // these inputs are small
      set_threads(1);
      translate_report r1;
      std::size_t batches = 0;
      const std::string one = run(m, text, o, &r1, [&](std::size_t) { ++batches; });
      set_threads(2);
      translate_report r2;
      std::vector<std::size_t> seen;
      std::mutex mu;
      const std::string two = run(m, text, o, &r2, [&](std::size_t done) {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(done);
      });
      CHECK(r1.workers == 1);
      CHECK(r2.workers == 2);
      CHECK(two == one);
      CHECK(split_lines(two).size() == 4 * inputs.size() * std::max<std::size_t>(c.n_best, 1));
      CHECK(batches >= 5);            // (lm: a batch's prompts are of one length)
      CHECK(seen.size() == batches);  // once per batch, rising to the lines
      CHECK(std::is_sorted(seen.begin(), seen.end()));
      CHECK(seen.back() == 4 * inputs.size());
    }
  }
  set_threads(before);
}

TEST_CASE("workers: not for a chunk of fewer row-steps than min_worker_steps (a worker's start costs)") {
  const int before = threads();
  if (set_threads(2) == 2) {
    loaded_model m = random_model("transformer");
    translate_options o;
    o.batch_size = 2;
    o.workers = 2;
    translate_report r;
    const std::string text = joined(inputs);  // 8 lines, 4 batches, budgets of 10: 80 row-steps
    run(m, text, o, &r);
    CHECK(r.workers == 1);
    o.min_worker_steps = 80;
    run(m, text, o, &r);
    CHECK(r.workers == 2);
    o.min_worker_steps = 81;
    run(m, text, o, &r);
    CHECK(r.workers == 1);
  }
  set_threads(before);
}
