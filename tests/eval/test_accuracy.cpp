// lib/eval/accuracy.h: exact-match accuracy of labels or lines.
#include <doctest/doctest.h>


#include "eval/accuracy.h"

using namespace attn;

TEST_CASE("accuracy: exact line matches") {
  const accuracy_score a = corpus_accuracy({"pos", "neg", "pos", "Neg"}, {{"pos", "pos", "pos", "neg"}});
  CHECK(a.correct == 2);
  CHECK(a.total == 4);
  CHECK(format_accuracy(a) == "accuracy = 0.5000 (2/4)");
  CHECK(corpus_accuracy({"pos", "Neg"}, {{"pos", "neg"}}, true).correct == 2);
  // With several references a line is right when it equals any of them.
  CHECK(corpus_accuracy({"a", "b"}, {{"a", "x"}, {"z", "b"}}).correct == 2);
}
