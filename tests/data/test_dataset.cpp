#include <doctest/doctest.h>

#include <sstream>

#include "core/error.h"
#include "data/dataset.h"
#include "text/vocab_builder.h"

using namespace attn;

namespace {

std::unique_ptr<tokenizer> char_tokenizer_for(const std::string& text) {
  vocab_options o;
  o.kind = tokenizer_kind::char_level;
  o.size = 64;
  vocab_builder b(o);
  b.add(text);
  return make_tokenizer(b.build());
}

struct reader {
  std::unique_ptr<tokenizer> tok = char_tokenizer_for("abcdefghij xyz");
  std::vector<std::string> labels;
  data_report report;
  dataset read(const std::string& text, dataset_options o) {
    std::istringstream in(text);
    return read_dataset(in, "f.tsv", o, *tok, *tok, labels, report);
  }
  std::int32_t id(char c) { return tok->find(std::string(1, c)); }
};

}  // namespace

TEST_CASE("pairs: src ends with <eos>, tgt_in = <bos> y, tgt_out = y <eos>, padded") {
  reader r;
  dataset_options o;
  const dataset d = r.read("ab\tc\nabc\tde\n", o);
  REQUIRE(d.examples.size() == 2);
  CHECK(d.lengths == std::vector<std::size_t>{3, 4});
  const batch b = make_batch(d, {0, 1});
  CHECK(b.size == 2);
  CHECK(b.src_len == 4);
  CHECK(b.tgt_len == 3);
  const std::int32_t a = r.id('a'), bb = r.id('b'), c = r.id('c'), dd = r.id('d'), e = r.id('e');
  CHECK(b.src == std::vector<std::int32_t>{a, bb, eos_id, pad_id, a, bb, c, eos_id});
  CHECK(b.tgt_in == std::vector<std::int32_t>{bos_id, c, pad_id, bos_id, dd, e});
  CHECK(b.tgt_out == std::vector<std::int32_t>{c, eos_id, pad_id, dd, e, eos_id});
  CHECK(b.src_lengths == std::vector<std::int32_t>{3, 4});
  CHECK(b.tgt_lengths == std::vector<std::int32_t>{2, 3});
  CHECK(d.tokens() == 5);
}

TEST_CASE("malformed lines are counted, reported by line number and skipped; --strict throws") {
  reader r;
  dataset_options o;
  o.report_lines = 3;
  const std::string text = "ab\tc\nno tab here\n\tc\nab\t\na\tb\tc\nab\t\xff\xfe\nbad\tbad\n";
  const dataset d = r.read(text, o);
  CHECK(d.examples.size() == 2);
  CHECK(r.report.lines == 7);
  CHECK(r.report.malformed == 5);
  REQUIRE(r.report.problems.size() == 3);
  CHECK(r.report.problems[0] == "f.tsv:2: expected 2 tab-separated fields (source, target), found 1");
  CHECK(r.report.problems[1] == "f.tsv:3: empty source");
  CHECK(r.report.problems[2] == "f.tsv:4: empty target");

  reader strict;
  o.strict = true;
  CHECK_THROWS_WITH_AS(strict.read(text, o),
                       "f.tsv:2: expected 2 tab-separated fields (source, target), found 1 (--strict)", attn::error);
  reader utf;
  o.strict = false;
  utf.read("ab\t\xff\n", o);
  CHECK(utf.report.problems.at(0) == "f.tsv:1: invalid UTF-8");
}

TEST_CASE("max_len: truncate keeps <eos> and counts; skip drops and counts") {
  dataset_options o;
  o.max_len = 3;
  reader t;
  const dataset d = t.read("abcdef\tab\nab\tabcdef\na\tb\n", o);
  REQUIRE(d.examples.size() == 3);
  CHECK(t.report.truncated == 2);
  CHECK(d.examples[0].src == std::vector<std::int32_t>{t.id('a'), t.id('b'), eos_id});
  CHECK(d.examples[1].tgt.size() == 2);  // y <eos> fits in 3
  CHECK(make_batch(d, {1}).tgt_len == 3);

  reader s;
  o.too_long = long_policy::skip;
  const dataset k = s.read("abcdef\tab\nab\tabcdef\na\tb\n", o);
  CHECK(k.examples.size() == 1);
  CHECK(s.report.skipped_long == 2);
  CHECK(s.report.truncated == 0);
}

TEST_CASE("lm: lines packed with <eos>, windows of max_len + 1 overlapping by one token") {
  reader r;
  dataset_options o;
  o.format = data_format::lm;
  o.max_len = 3;
  const dataset d = r.read("abc\n\nde\n", o);  // stream: a b c <eos> d e <eos> (blank line skipped)
  const std::int32_t a = r.id('a'), b = r.id('b'), c = r.id('c'), dd = r.id('d'), e = r.id('e');
  REQUIRE(d.examples.size() == 2);
  CHECK(d.examples[0].src == std::vector<std::int32_t>{a, b, c});
  CHECK(d.examples[0].tgt == std::vector<std::int32_t>{b, c, eos_id});
  CHECK(d.examples[1].src == std::vector<std::int32_t>{eos_id, dd, e});
  CHECK(d.examples[1].tgt == std::vector<std::int32_t>{dd, e, eos_id});
  const batch bt = make_batch(d, {0, 1});
  CHECK(bt.src_len == 3);
  CHECK(bt.tgt_len == 3);
  CHECK(bt.tgt_out == std::vector<std::int32_t>{b, c, eos_id, dd, e, eos_id});
  CHECK(d.tokens() == 6);
}

TEST_CASE("labeled: labels collected in order of appearance; unknown labels in validation data") {
  reader r;
  dataset_options o;
  o.format = data_format::labeled;
  const dataset d = r.read("pos\tabc\nneg\tde\npos\tx\n", o);
  CHECK(r.labels == std::vector<std::string>{"pos", "neg"});
  REQUIRE(d.examples.size() == 3);
  CHECK(d.examples[1].label == 1);
  CHECK(d.examples[0].src.front() == bos_id);
  const batch b = make_batch(d, {0, 1, 2});
  CHECK(b.labels == std::vector<std::int32_t>{0, 1, 0});
  CHECK(b.tgt_len == 0);

  o.grow_labels = false;
  r.report = {};
  const dataset v = r.read("pos\ta\nmaybe\tb\n", o);
  CHECK(v.examples.size() == 1);
  CHECK(r.report.problems.at(0) == "f.tsv:2: label 'maybe' does not occur in the training data");
}

TEST_CASE("report_warnings: one line per problem, nothing when all went well") {
  data_report r;
  CHECK(report_warnings(r, "f.tsv", 8).empty());
  r.lines = 10;
  r.malformed = 3;
  r.problems = {"f.tsv:2: no tab", "f.tsv:5: no tab"};  // only the first ones are kept
  r.truncated = 1;
  r.skipped_long = 2;
  CHECK(report_warnings(r, "f.tsv", 8) ==
        std::vector<std::string>{"3 malformed lines of 10 in f.tsv skipped:", "  f.tsv:2: no tab", "  f.tsv:5: no tab",
                                 "  ...", "1 examples in f.tsv truncated to --max-len 8",
                                 "2 examples in f.tsv longer than --max-len 8 skipped"});
  r = {};
  r.lines = 4;
  r.malformed = 1;
  r.problems = {"f.tsv:1: no tab"};
  CHECK(report_warnings(r, "f.tsv", 8) == std::vector<std::string>{"1 malformed line of 4 in f.tsv skipped:",
                                                                    "  f.tsv:1: no tab"});
}

TEST_CASE("no_examples_message: one line that says why nothing was usable") {
  reader lm_text;  // plain text given where source<TAB>target is read: every line is malformed
  dataset_options o;
  CHECK(lm_text.read("in the beginning\nand the earth\n\n", o).examples.empty());
  CHECK(no_examples_message(lm_text.report, "f.tsv", o.format, 8) ==
        "'f.tsv' holds no usable examples: of its 3 lines, 2 are malformed; line 1: expected 2 tab-separated "
        "fields (source, target), found 1");
  reader all_bad;
  all_bad.read("abc\nxyz\n", o);
  CHECK(no_examples_message(all_bad.report, "f.tsv", o.format, 8) ==
        "'f.tsv' holds no usable examples: none of its 2 lines is usable source<TAB>target; line 1: expected 2 "
        "tab-separated fields (source, target), found 1");
  o.format = data_format::labeled;
  o.grow_labels = false;
  reader unknown;
  unknown.read("pos\tabc\n", o);
  CHECK(no_examples_message(unknown.report, "f.tsv", o.format, 8) ==
        "'f.tsv' holds no usable examples: its one line is not usable label<TAB>text; line 1: label 'pos' does not "
        "occur in the training data");
  o.format = data_format::pairs;
  o.max_len = 3;
  o.too_long = long_policy::skip;
  reader too_long;
  too_long.read("abcdef\tab\nabcdef\tab\n", o);
  CHECK(no_examples_message(too_long.report, "f.tsv", o.format, 3) ==
        "'f.tsv' holds no usable examples: all its 2 examples are longer than --max-len 3");
  CHECK(no_examples_message(data_report{}, "f.tsv", o.format, 3) == "'f.tsv' holds no usable examples");
}
