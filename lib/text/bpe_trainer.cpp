#include "text/bpe_trainer.h"

#include <algorithm>
#include <queue>

#include "core/error.h"
#include "text/pair_map.h"

namespace attn {

namespace {

struct pair_stat {
  int64_t count = 0;
  int32_t list = -1;    // index into the word lists, -1 before the pair first occurs
  bool banned = false;  // its merge would spell a special token
};

struct candidate {
  int64_t count;
  int32_t a, b;
  // priority_queue keeps the greatest on top: higher count, then smaller ids.
  bool operator<(const candidate& o) const {
    if (count != o.count) return count < o.count;
    if (a != o.a) return a > o.a;
    return b > o.b;
  }
};

class trainer {
 public:
  trainer(const string_table& words, const std::vector<uint64_t>& freqs, const bpe_options& opts) : opts_(opts) {
    for (int b = 0; b < 256; ++b) add_token(std::string(1, static_cast<char>(b)));
    for (const auto& f : opts.forbidden) forbidden_.insert(f);
    syms_.resize(words.size());
    freq_.resize(words.size());
    for (std::size_t w = 0; w < words.size(); ++w) {
      const std::string_view s = words.at(static_cast<int32_t>(w));
      if (freqs[w] > static_cast<uint64_t>(INT64_MAX)) throw attn::error("word count overflows 64 bits");
      freq_[w] = static_cast<int64_t>(freqs[w]);
      syms_[w].reserve(s.size());
      for (char c : s) syms_[w].push_back(static_cast<unsigned char>(c));
      for (std::size_t i = 0; i + 1 < s.size(); ++i)
        add(syms_[w][i], syms_[w][i + 1], freq_[w], static_cast<uint32_t>(w));
    }
    touched_.clear();
    touched_.shrink_to_fit();
    std::vector<candidate> all;
    stats_.for_each([&](uint64_t key, const pair_stat& s) {
      if (s.count > 0) all.push_back({s.count, pair_left(key), pair_right(key)});
    });
    heap_ = std::priority_queue<candidate>(std::less<candidate>(), std::move(all));
  }

  bpe_model run() {
    std::size_t last_report = 0;
    while (model_.tokens.size() < opts_.num_tokens && !heap_.empty()) {
      const candidate top = heap_.top();
      heap_.pop();
      pair_stat* s = stats_.find(pair_key(top.a, top.b));
      if (s->banned) continue;
      if (s->count != top.count) {
        // Stale: counts only fall between pushes, so re-queue with the current count.
        if (s->count > 0 && s->count < top.count) heap_.push({s->count, top.a, top.b});
        continue;
      }
      if (top.count < static_cast<int64_t>(std::max<uint64_t>(opts_.min_freq, 1))) break;
      std::string merged = model_.tokens[top.a] + model_.tokens[top.b];
      if (forbidden_.find(merged) >= 0) {
        s->banned = true;
        continue;
      }
      const int32_t c = add_token(std::move(merged));
      model_.merges.emplace_back(top.a, top.b);
      apply(top.a, top.b, c, s->list);
      if (opts_.progress && model_.tokens.size() >= last_report + 500) {
        last_report = model_.tokens.size();
        opts_.progress(model_.tokens.size(), opts_.num_tokens);
      }
    }
    model_.counts.assign(model_.tokens.size(), 0);
    for (std::size_t w = 0; w < syms_.size(); ++w)
      for (int32_t t : syms_[w]) model_.counts[t] += static_cast<uint64_t>(freq_[w]);
    return std::move(model_);
  }

 private:
  int32_t add_token(std::string t) {
    bool added;
    const int32_t id = token_ids_.insert(t, &added);
    if (added) model_.tokens.push_back(std::move(t));
    return id;
  }

  void add(int32_t a, int32_t b, int64_t delta, uint32_t word) {
    pair_stat& s = stats_[pair_key(a, b)];
    s.count += delta;
    if (delta <= 0) return;
    if (s.list < 0) {
      s.list = static_cast<int32_t>(lists_.size());
      lists_.emplace_back();
    }
    lists_[s.list].push_back(word);
    touched_.push_back(pair_key(a, b));
  }

  // Replaces every (a, b) by c in the words of list `li`, left to right, keeping pair counts exact:
  // with x a b y -> x c y, pairs (x,a) (a,b) (b,y) lose one and (x,c) (c,y) gain one. x is read
  // from the rewritten prefix, so "a b a b" -> "c c" is counted right.
  void apply(int32_t a, int32_t b, int32_t c, int32_t li) {
    std::vector<uint32_t> words = std::move(lists_[li]);
    lists_[li] = {};
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    touched_.clear();
    for (uint32_t w : words) {
      std::vector<int32_t>& s = syms_[w];
      const int64_t f = freq_[w];
      const std::size_t n = s.size();
      std::size_t j = 0;
      for (std::size_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
          add(a, b, -f, w);
          if (j > 0) {
            add(s[j - 1], a, -f, w);
            add(s[j - 1], c, f, w);
          }
          if (i + 2 < n) {
            add(b, s[i + 2], -f, w);
            add(c, s[i + 2], f, w);
          }
          s[j++] = c;
          i += 2;
        } else {
          s[j++] = s[i++];
        }
      }
      s.resize(j);
    }
    std::sort(touched_.begin(), touched_.end());
    touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
    for (uint64_t key : touched_) {
      const pair_stat* st = stats_.find(key);
      if (st->count > 0 && !st->banned) heap_.push({st->count, pair_left(key), pair_right(key)});
    }
  }

  const bpe_options& opts_;
  bpe_model model_;
  string_table token_ids_, forbidden_;
  std::vector<std::vector<int32_t>> syms_;
  std::vector<int64_t> freq_;
  pair_map<pair_stat> stats_;
  std::vector<std::vector<uint32_t>> lists_;
  std::vector<uint64_t> touched_;
  std::priority_queue<candidate> heap_;
};

}  // namespace

bpe_model train_bpe(const string_table& words, const std::vector<uint64_t>& freqs, const bpe_options& opts) {
  if (words.size() > UINT32_MAX) throw attn::error("too many distinct words");
  trainer t(words, freqs, opts);
  return t.run();
}

}  // namespace attn
