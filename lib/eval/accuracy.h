#pragma once
// Exact-match accuracy of lines, e.g. predicted classifier labels against gold labels.
#include <cstddef>
#include <string>
#include <vector>

namespace attn {

struct accuracy_score {
  std::size_t correct = 0, total = 0;
  double value() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

// hyps[i] is correct when it equals refs[k][i] for some reference stream k (compared as given,
// after lowercasing both when `lowercase`).
accuracy_score corpus_accuracy(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                               bool lowercase = false);

// "accuracy = 0.9850 (197/200)"
std::string format_accuracy(const accuracy_score& a);

}  // namespace attn
