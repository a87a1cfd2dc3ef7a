// lib/eval/bleu.h: the 13a tokenizer, and corpus BLEU against hand-computed n-gram counts and
// against values published by sacrebleu itself (its README and test/test_bleu.py; each use says
// where the number comes from).
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/bleu.h"
#include "sacrebleu_readme.h"

using namespace attn;

namespace {

using testing::lines;
using testing::readme_hyps;
using testing::readme_refs;

bleu_score bleu1(const std::string& hyp, const std::string& ref) {
  return corpus_bleu({hyp}, {{ref}});
}

}  // namespace

TEST_CASE("13a tokenizer: punctuation is split off, numbers keep their period and comma") {
  CHECK(tokenize_13a("Hello, world.") == "Hello , world .");
  CHECK(tokenize_13a("3.14") == "3.14");
  CHECK(tokenize_13a("1,000") == "1,000");
  CHECK(tokenize_13a("It costs $1,000.50.") == "It costs $ 1,000.50 .");  // only the final period splits
  CHECK(tokenize_13a("1.5.") == "1.5 .");
  CHECK(tokenize_13a("a.5") == "a . 5");  // a period after a non-digit is split even before a digit
  CHECK(tokenize_13a("U.S.A.") == "U . S . A .");
  // A hyphen is kept inside words and split only after a digit.
  CHECK(tokenize_13a("end-of-line") == "end-of-line");
  CHECK(tokenize_13a("a 2-year-old") == "a 2 - year-old");
  CHECK(tokenize_13a("pages 5-6") == "pages 5 - 6");
  // Symbols ( ) [ ] { } " ! ? : ; / $ % & ... are split; the apostrophe is not.
  CHECK(tokenize_13a("(hi) [x] {y} \"q\" a/b 50% x!?") == "( hi ) [ x ] { y } \" q \" a / b 50 % x ! ?");
  CHECK(tokenize_13a("don't") == "don't");
  // HTML entities, unescaped in order (so "&amp;lt;" becomes "<"), and <skipped>.
  CHECK(tokenize_13a("He said &quot;hi&quot; &amp; left") == "He said \" hi \" & left");
  CHECK(tokenize_13a("&amp;lt;") == "<");
  CHECK(tokenize_13a("a<skipped>b") == "ab");
  // Whitespace collapses; multi-byte characters next to punctuation.
  CHECK(tokenize_13a("  a \t b  ") == "a b");
  CHECK(tokenize_13a("Gr\xC3\xBC\xC3\x9F"
                     "e, caf\xC3\xA9.") ==
        "Gr\xC3\xBC\xC3\x9F"
        "e , caf\xC3\xA9 .");
  CHECK(tokenize_13a("a\xC2\xA0"
                     "b") == "a b");  // U+00A0 separates words, as in Python's split()
  CHECK(tokenize_13a("") == "");
}

TEST_CASE("BLEU of a perfect match is 100, of no overlap 0") {
  const bleu_score p = bleu1("the cat sat on the mat .", "the cat sat on the mat.");
  CHECK(p.score == doctest::Approx(100.0));
  for (double x : p.precisions) CHECK(x == doctest::Approx(100.0));
  CHECK(p.bp == 1.0);
  CHECK(p.stats.hyp_len == 7);

  // No n-gram of any order matches: sacrebleu returns 0 and leaves every precision 0 (#141).
  const bleu_score z = bleu1("a b c d", "e f g h");
  CHECK(z.score == 0.0);
  for (double x : z.precisions) CHECK(x == 0.0);
  CHECK(z.stats.total[0] == 4);
  CHECK(z.stats.correct[0] == 0);
}

TEST_CASE("BLEU n-gram statistics and exp smoothing") {
  // sacrebleu test/test_bleu.py test_case_statistics:
  // hyp "am I am a character sequence"       1-grams am x2, I, a, character, sequence
  // ref "I am a symbol string sequence a a"  1-grams I, am, a x3, symbol, string, sequence (8 tokens)
  //   1-grams: am min(2,1) + I + a + sequence = 4 of 6
  //   2-grams: "I am", "am a" = 2 of 5;  3-grams: "I am a" = 1 of 4;  4-grams: 0 of 3
  const bleu_score s = bleu1("am I am a character sequence", "I am a symbol string sequence a a");
  CHECK(s.stats.correct == std::array<std::size_t, 4>{4, 2, 1, 0});
  CHECK(s.stats.total == std::array<std::size_t, 4>{6, 5, 4, 3});
  CHECK(s.stats.hyp_len == 6);
  CHECK(s.stats.ref_len == 8);
  // p4 has no match: exp smoothing gives 1 / (2 * 3). BP = exp(1 - 8/6).
  const double want = 100 * std::exp(1 - 8.0 / 6) * std::pow(4.0 / 6 * 2.0 / 5 * 1.0 / 4 * (1.0 / (2 * 3)), 0.25);
  CHECK(s.score == doctest::Approx(want).epsilon(1e-12));
  CHECK(s.precisions[3] == doctest::Approx(100.0 / 6));

  // Two orders without a match: the second gets 1 / (4 * total).
  // hyp "a b c d e", ref "a b x c d": 1-grams a b c d = 4 of 5; 2-grams "a b", "c d" = 2 of 4;
  // 3-grams 0 of 3 -> 1/(2*3); 4-grams 0 of 2 -> 1/(4*2). Equal lengths: BP = 1.
  const bleu_score t = bleu1("a b c d e", "a b x c d");
  CHECK(t.stats.correct == std::array<std::size_t, 4>{4, 2, 0, 0});
  CHECK(t.precisions[2] == doctest::Approx(100.0 / 6));
  CHECK(t.precisions[3] == doctest::Approx(100.0 / 8));
  CHECK(t.score == doctest::Approx(100 * std::pow(4.0 / 5 * 2.0 / 4 * (1.0 / 6) * (1.0 / 8), 0.25)).epsilon(1e-12));

  // "this is a fest" / "this is a test" (sacrebleu test_raw_bleu_cases): counts 3/4, 2/3, 1/2, 0/1;
  // with exp smoothing p4 = 1/(2*1): BLEU = 100 * (3/4 * 2/3 * 1/2 * 1/2)^(1/4) = 59.46.
  CHECK(bleu1("this is a fest", "this is a test").score == doctest::Approx(100 * std::pow(0.125, 0.25)));

  // A hypothesis with no 3-grams at all: sacrebleu stops at that order, p3 = p4 = 0, BLEU = 0
  // although unigrams and bigrams match ("the cat" / "the cat sat": 2/2, 1/1, 0/0, 0/0).
  const bleu_score u = bleu1("the cat", "the cat sat");
  CHECK(u.stats.correct == std::array<std::size_t, 4>{2, 1, 0, 0});
  CHECK(u.precisions[0] == doctest::Approx(100.0));
  CHECK(u.precisions[2] == 0.0);
  CHECK(u.score == 0.0);
}

TEST_CASE("BLEU from statistics: sacrebleu's published test_case_scoring value") {
  // sacrebleu test/test_bleu.py: compute_bleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11) = 0.8375922397 (x 100).
  bleu_stats s;
  s.correct = {9, 7, 5, 3};
  s.total = {10, 8, 6, 4};
  s.hyp_len = s.ref_len = 11;
  CHECK(compute_bleu(s).score == doctest::Approx(83.75922397).epsilon(1e-9));
}

TEST_CASE("brevity penalty: exp(1 - r/c) for short hypotheses, 1 for long ones") {
  // "a b c d" / "a b c d e f": every n-gram matches (4/4, 3/3, 2/2, 1/1), c = 4, r = 6.
  const bleu_score s = bleu1("a b c d", "a b c d e f");
  CHECK(s.bp == doctest::Approx(std::exp(1 - 6.0 / 4)));
  CHECK(s.score == doctest::Approx(100 * std::exp(-0.5)));
  CHECK(s.ratio == doctest::Approx(4.0 / 6));
  // The other way round: precisions 4/6, 3/5, 2/4, 1/3 and no penalty.
  const bleu_score l = bleu1("a b c d e f", "a b c d");
  CHECK(l.bp == 1.0);
  CHECK(l.score == doctest::Approx(100 * std::pow(4.0 / 6 * 3.0 / 5 * 2.0 / 4 * 1.0 / 3, 0.25)));
  // An empty hypothesis: BP 0, BLEU 0.
  CHECK(bleu1("", "a b").bp == 0.0);
}

TEST_CASE("multiple references: clipping by the largest count, the closest length") {
  // hyp "the the the cat"; ref1 "the cat" (2 tokens), ref2 "the the dog sat down" (5 tokens).
  //   1-grams: the x3 clipped to max(1, 2) = 2, cat 1 -> 3 of 4
  //   2-grams: "the the" x2 clipped to 1 (ref2), "the cat" 1 (ref1) -> 2 of 3; 3-, 4-grams: 0 of 2, 0 of 1
  //   lengths: |4-2| = 2, |4-5| = 1 -> r = 5
  const bleu_stats s = bleu_line_stats("the the the cat", {"the cat", "the the dog sat down"});
  CHECK(s.correct == std::array<std::size_t, 4>{3, 2, 0, 0});
  CHECK(s.total == std::array<std::size_t, 4>{4, 3, 2, 1});
  CHECK(s.ref_len == 5);
  // Equally close references (3 and 5 tokens for a 4-token hypothesis): the shorter one.
  CHECK(bleu_line_stats("a b c d", {"a b c d e", "a b c"}).ref_len == 3);
  CHECK(bleu_line_stats("a b c d", {"a b c", "a b c d e"}).ref_len == 3);
}

TEST_CASE("corpus BLEU agrees with sacrebleu's published README example") {
  // README: "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)";
  // test/test_bleu.py test_corpus_bleu_cases gives the score as 48.530827.
  const bleu_score b = corpus_bleu(readme_hyps, readme_refs);
  CHECK(b.score == doctest::Approx(48.530827).epsilon(1e-8));
  CHECK(format_bleu(b) == "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  // test_corpus_bleu_cases: empty hypotheses score 0 (and are not dropped).
  CHECK(corpus_bleu({"", "", ""}, readme_refs).score == 0.0);
  // README "Variable Number of References": the first line's first reference replaced by '':
  // "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)".
  std::vector<lines> var = readme_refs;
  var[0][0] = "";
  CHECK(format_bleu(corpus_bleu(readme_hyps, var)) ==
        "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)");
  // A line whose references are all empty is an error, as in sacrebleu.
  var[1][0] = "";
  CHECK_THROWS_AS(corpus_bleu(readme_hyps, var), attn::error);
}

TEST_CASE("BLEU is case-sensitive unless lowercased") {
  // "The Cat sat down" / "the cat sat down": The, Cat differ -> 1-grams 2/4, 2-grams 1/3, 3-grams 0/2, 4-grams 0/1.
  const bleu_score cs = bleu1("The Cat sat down", "the cat sat down");
  CHECK(cs.stats.correct == std::array<std::size_t, 4>{2, 1, 0, 0});
  bleu_options lc;
  lc.lowercase = true;
  CHECK(corpus_bleu({"The Cat sat down"}, {{"the cat sat down"}}, lc).score == doctest::Approx(100.0));
}
