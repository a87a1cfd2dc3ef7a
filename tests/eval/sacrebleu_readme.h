#pragma once
// The example of sacrebleu's README (section "Using SacreBLEU from Python"): three hypotheses,
// two reference streams; test_bleu.cpp and test_chrf.cpp check its published scores.
#include <string>
#include <vector>

namespace attn::testing {

using lines = std::vector<std::string>;

inline const lines readme_hyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
inline const std::vector<lines> readme_refs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};

}  // namespace attn::testing
