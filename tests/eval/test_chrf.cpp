// lib/eval/chrf.h: corpus chrF2 against hand-computed values and sacrebleu's published ones
// (its README and test/test_chrf.py).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "eval/chrf.h"
#include "sacrebleu_readme.h"

using namespace attn;

namespace {

using testing::lines;
using testing::readme_hyps;
using testing::readme_refs;

double chrf1(const std::string& hyp, const std::string& ref) {
  return corpus_chrf({hyp}, {{ref}});
}

}  // namespace

TEST_CASE("corpus chrF agrees with sacrebleu's published README example") {
  // README: chrF2 = 59.73.
  CHECK(format_chrf(corpus_chrf(readme_hyps, readme_refs)) == "chrF2 = 59.73");
  // A line whose references are all empty is an error, as in sacrebleu.
  std::vector<lines> var = readme_refs;
  var[0][0] = var[1][0] = "";
  CHECK_THROWS_AS(corpus_chrf(readme_hyps, var), attn::error);
}

TEST_CASE("chrF: sacrebleu's effective-order cases and hand-computed values") {
  // sacrebleu test/test_chrf.py test_cases_effective_order (computed there with beta = 3; in each
  // case precision = recall, so the value is the same for beta = 2).
  CHECK(chrf1("a", "a") == doctest::Approx(100.0));
  CHECK(chrf1("a b c", "abc") == doctest::Approx(100.0));  // whitespace is removed
  CHECK(chrf1("", "reference") == 0.0);
  CHECK(chrf1("", "c") == 0.0);
  CHECK(corpus_chrf({"a", "b"}, {{"a", "c"}}) == doctest::Approx(50.0));
  CHECK(chrf1("aa", "ab") == doctest::Approx(25.0));
  // hyp "ab", ref "abc": 1-grams 2 matched of 2 (P = 1) and of 3 (R = 2/3); 2-grams "ab" of 1
  // (P = 1) and of 2 (R = 1/2); no hypothesis 3-grams, so orders 3..6 do not count.
  // P = 1, R = 7/12, chrF2 = 100 * 5 P R / (4 P + R) = 100 * 35/55.
  CHECK(chrf1("ab", "abc") == doctest::Approx(100.0 * 35 / 55));
  // Characters are code points: "\xC3\xA9" + "a" against "ea" matches one of two unigrams
  // and no bigram (P = R = 1/4 on average), where bytes would give something else.
  CHECK(chrf1("\xC3\xA9"
              "a",
              "ea") == doctest::Approx(25.0));
  CHECK(chrf1("\xC3\xA9t\xC3\xA9", "\xC3\xA9t\xC3\xA9") == doctest::Approx(100.0));
  // Several references: the best one per line.
  CHECK(corpus_chrf({"abc"}, {{"xyz"}, {"abc"}}) == doctest::Approx(100.0));
  chrf_options lc;
  lc.lowercase = true;
  CHECK(corpus_chrf({"ABC"}, {{"abc"}}, lc) == doctest::Approx(100.0));
  CHECK(corpus_chrf({"ABC"}, {{"abc"}}) == 0.0);
}
