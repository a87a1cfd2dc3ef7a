#include "eval/accuracy.h"

#include <cstdio>

#include "core/error.h"
#include "eval/text.h"

namespace attn {

accuracy_score corpus_accuracy(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                               bool lower) {
  if (refs.empty()) throw error("accuracy needs at least one reference stream");
  accuracy_score a;
  a.total = hyps.size();
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    const std::string h = lower ? lowercase(hyps[i]) : hyps[i];
    for (const auto& stream : refs) {
      if (i >= stream.size()) throw error("a reference stream has fewer lines than the hypotheses");
      if ((lower ? lowercase(stream[i]) : stream[i]) == h) {
        ++a.correct;
        break;
      }
    }
  }
  return a;
}

std::string format_accuracy(const accuracy_score& a) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "accuracy = %.4f (%zu/%zu)", a.value(), a.correct, a.total);
  return buf;
}

}  // namespace attn
