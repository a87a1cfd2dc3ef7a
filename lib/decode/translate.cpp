#include "decode/translate.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels.h"
#include "core/threads.h"
#include "decode/greedy.h"
#include "models/task.h"

namespace attn {

namespace {

// `index ||| hypothesis ||| score` (Marian's n-best format; index = 0-based input line), with an
// alignment `index ||| hypothesis ||| alignment ||| score`.
void append_n_best(std::string& out, std::size_t index, const std::string& text, float score,
                   const std::string* alignment = nullptr) {
  char number[32];
  std::snprintf(number, sizeof number, "%.6g", static_cast<double>(score));
  out += std::to_string(index) + " ||| " + text + " ||| ";
  if (alignment) out += *alignment + " ||| ";
  out += number;
  out += '\n';
}

// A hypothesis prints on one line: the line breaks a byte-level vocabulary can produce (its
// "\n" and "\r" byte tokens) become spaces, so that output line i stays input line i's.
void keep_on_one_line(std::string& text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
}

// Pads ids of items `order[begin..end)` into a source batch.
batch source_batch(const std::vector<std::vector<std::int32_t>>& ids, const std::vector<std::size_t>& order,
                   std::size_t begin, std::size_t end) {
  batch b;
  b.size = end - begin;
  for (std::size_t i = begin; i < end; ++i) b.src_len = std::max(b.src_len, ids[order[i]].size());
  b.src.assign(b.size * b.src_len, pad_id);
  for (std::size_t i = begin; i < end; ++i) {
    const auto& s = ids[order[i]];
    std::copy(s.begin(), s.end(), b.src.begin() + static_cast<std::ptrdiff_t>((i - begin) * b.src_len));
    b.src_lengths.push_back(static_cast<std::int32_t>(s.size()));
  }
  return b;
}

// What one decoding thread owns: the model it runs (the loaded one, or a copy of it), its tape,
// and its batch's alignments.
struct decoding_worker {
  model* net = nullptr;
  std::unique_ptr<model> own;  // a copy's storage (null for the loaded model)
  tape t;
  std::vector<soft_alignment> alignments;  // per batch item, with an alignment
};

// A chunk's batch: positions [begin, end) of the length-sorted order.
struct batch_span {
  std::size_t begin = 0, end = 0;
};

// One chunk of lines, decoded and printed. lines[i] is input line first_line + i (n-best
// indices, sampling streams).
class chunk_decoder {
 public:
  chunk_decoder(loaded_model& m, const translate_options& o, std::size_t max_len)
      : m_(m), o_(o), task_(task_of(*m.net)), max_len_(max_len) {
    workers_.push_back(std::make_unique<decoding_worker>());
    workers_[0]->net = m.net.get();
  }

  void run(const std::vector<std::string>& lines, std::size_t first_line, std::ostream& out, translate_report& r,
           const line_progress& progress) {
    ids_.assign(lines.size(), {});
    for (std::size_t i = 0; i < lines.size(); ++i) {
      bool cut = false;
      ids_[i] = task_.source_ids(*m_.src, lines[i], max_len_, cut);
      r.cut += cut;
    }
    order_.resize(lines.size());
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(),
                     [&](std::size_t a, std::size_t b) { return ids_[a].size() < ids_[b].size(); });
    std::vector<batch_span> spans;
    for (std::size_t begin = 0; begin < order_.size();) {
      std::size_t end = std::min(order_.size(), begin + o_.batch_size);
      if (task_.equal_length_batches)
        for (std::size_t i = begin + 1; i < end; ++i)
          if (ids_[order_[i]].size() != ids_[order_[begin]].size()) {
            end = i;
            break;
          }
      spans.push_back({begin, end});
      begin = end;
    }
    results_.assign(lines.size(), std::string());
    const std::size_t workers = work_of(spans) >= o_.min_worker_steps ? std::min(workers_for(o_), spans.size()) : 1;
    if (workers <= 1) {
      for (const batch_span& s : spans) {
        decode(*workers_[0], s, first_line);
        if (progress) progress(first_line + s.end);
      }
    } else {
      // the most costly first (sentences × longest source: longest processing time first); the
      // last spans.size() % workers, the cheapest, one at a time on all the threads, so that no
      // thread idles through another's last batch
      auto cost = [&](const batch_span& s) { return (s.end - s.begin) * (longest_source(s) + 1); };
      std::stable_sort(spans.begin(), spans.end(),
                       [&](const batch_span& a, const batch_span& b) { return cost(a) > cost(b); });
      const std::size_t shared = spans.size() - spans.size() % workers;
      decode_on_workers(spans, shared, workers, first_line, progress);
      r.workers = std::max(r.workers, workers);
      std::size_t done = 0;  // lines decoded by the workers
      for (std::size_t i = 0; i < shared; ++i) done += spans[i].end - spans[i].begin;
      for (std::size_t i = shared; i < spans.size(); ++i) {
        decode(*workers_[0], spans[i], first_line);
        done += spans[i].end - spans[i].begin;
        if (progress) progress(first_line + done);
      }
    }
    for (const auto& text : results_) out << text;
  }

 private:
  // The longest source of a span (the order is by source length).
  std::size_t longest_source(const batch_span& s) const { return ids_[order_[s.end - 1]].size(); }

  // Row-steps of the spans: each batch's rows × its budget (a classifier: × its source length).
  std::size_t work_of(const std::vector<batch_span>& spans) const {
    const bool labels = task_.hypothesis == hypothesis_kind::label;
    const std::size_t beam = labels || o_.sample ? 1 : std::min<std::size_t>(o_.beam.beam_size, 1 << 16);
    std::size_t work = 0;
    for (const batch_span& s : spans) {
      const std::size_t per_row = labels ? longest_source(s) + 1 : task_.decode_budget(max_len_, longest_source(s));
      work += (s.end - s.begin) * beam * std::min<std::size_t>(per_row, 1 << 20);
    }
    return work;
  }

  // spans[0, count) on `workers` threads, each taking the next span as it comes free. A worker
  // past the first makes its model on its own thread at its start (once: they stay for the next
  // chunks), while the first is already decoding; one at a time (make_worker).
  void decode_on_workers(const std::vector<batch_span>& spans, std::size_t count, std::size_t workers,
                         std::size_t first_line, const line_progress& progress) {
    if (workers_.size() < workers) workers_.resize(workers);  // null until the worker makes its own
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex progress_mu;
    std::size_t done = 0;
    parallel_for(workers, 1, [&](std::size_t first, std::size_t past) {
      for (std::size_t w = first; w < past; ++w) {
        try {
          if (!workers_[w]) workers_[w] = make_worker();
          for (std::size_t i; !failed && (i = next++) < count;) {
            decode(*workers_[w], spans[i], first_line);
            std::lock_guard<std::mutex> lock(progress_mu);
            done += spans[i].end - spans[i].begin;
            if (progress) progress(first_line + done);
          }
        } catch (...) {
          failed = true;  // the other workers stop after their batch
          throw;
        }
      }
    });
  }

  // A worker past the first: a model that reads the loaded one's weights, with the run's options.
  // share_model builds a whole fresh model before it frees its values to share: one such set at a
  // time, as decode's memory check counts (estimate_decoding).
  std::unique_ptr<decoding_worker> make_worker() {
    auto w = std::make_unique<decoding_worker>();
    {
      std::lock_guard<std::mutex> lock(build_mu_);
      w->own = share_model(*m_.net);
    }
    w->own->set_kv_precision(o_.kv_precision);
    if (o_.alignment != alignment_kind::none) w->own->keep_step_attention(true, o_.alignment_layer);
    w->net = w->own.get();
    return w;
  }

  // Positions [s.begin, s.end) of the sorted order, as one batch, on worker w.
  void decode(decoding_worker& w, const batch_span& s, std::size_t first_line) {
    const batch b = source_batch(ids_, order_, s.begin, s.end);
    const std::vector<std::size_t> items(order_.begin() + static_cast<std::ptrdiff_t>(s.begin),
                                         order_.begin() + static_cast<std::ptrdiff_t>(s.end));
    if (task_.hypothesis == hypothesis_kind::label)
      classify(w, b, items, first_line);
    else
      search(w, b, items, first_line);
  }

  // The most probable label, or with n_best the n most probable with their log-probs.
  void classify(decoding_worker& w, const batch& b, const std::vector<std::size_t>& items, std::size_t first_line) {
    no_grad off(w.t);
    w.t.reset();
    const matrix lp = w.net->classify(w.t, b);  // [B, classes]
    const std::size_t classes = lp.shape()[1];
    std::vector<std::size_t> ranked(classes);
    for (std::size_t i = 0; i < b.size; ++i) {
      const float* row = lp.data() + i * classes;
      std::string& result = results_[items[i]];
      if (o_.n_best == 0) {
        const std::size_t best = kernels::argmax(classes, row);
        result = m_.labels.at(best) + "\n";
        continue;
      }
      std::iota(ranked.begin(), ranked.end(), 0);
      std::stable_sort(ranked.begin(), ranked.end(), [&](std::size_t a, std::size_t c) { return row[a] > row[c]; });
      for (std::size_t j = 0; j < std::min(o_.n_best, classes); ++j)
        append_n_best(result, first_line + items[i], m_.labels.at(ranked[j]), row[ranked[j]]);
    }
  }

  // Token hypotheses: sampled, greedy, or from the beam (best one, or n-best lines); each followed
  // by its alignment when asked.
  void search(decoding_worker& w, const batch& b, const std::vector<std::size_t>& items, std::size_t first_line) {
    const std::size_t budget = task_.decode_budget(max_len_, b.src_len);
    const std::int32_t start = task_.start_token;
    tokenizer& tgt = m_.tgt();
    const bool aligned = o_.alignment != alignment_kind::none;
    std::vector<soft_alignment>* alignments = aligned ? &w.alignments : nullptr;
    if (o_.sample || (o_.beam.beam_size == 1 && o_.n_best == 0)) {
      std::vector<std::vector<std::int32_t>> hyps;
      if (o_.sample) {
        std::vector<std::uint64_t> streams;
        for (std::size_t line : items) streams.push_back(first_line + line);
        hyps = sample_decode(*w.net, w.t, b, budget, o_.sampling, streams, start, alignments);
      } else {
        hyps = greedy_decode(*w.net, w.t, b, budget, start, alignments);
      }
      std::string text;
      for (std::size_t i = 0; i < b.size; ++i) {
        text.clear();
        tgt.decode(hyps[i], text);
        keep_on_one_line(text);
        results_[items[i]] += text;
        if (aligned) results_[items[i]] += " ||| " + alignment_text(o_.alignment, w.alignments[i]);
      }
    } else {
      beam_config cfg = o_.beam;
      cfg.alignment = aligned;
      const auto hyps = beam_decode(*w.net, w.t, b, budget, cfg, start);
      std::string text, alignment;
      for (std::size_t i = 0; i < b.size; ++i) {
        std::string& result = results_[items[i]];
        if (o_.n_best == 0) {
          text.clear();
          tgt.decode(hyps[i].front().tokens, text);
          keep_on_one_line(text);
          result += text;
          if (aligned) result += " ||| " + alignment_text(o_.alignment, hyps[i].front().alignment);
          continue;
        }
        for (const hypothesis& h : hyps[i]) {
          text.clear();
          tgt.decode(h.tokens, text);
          keep_on_one_line(text);
          if (aligned) alignment = alignment_text(o_.alignment, h.alignment);
          append_n_best(result, first_line + items[i], text, h.score, aligned ? &alignment : nullptr);
        }
      }
    }
    if (o_.n_best == 0)
      for (std::size_t line : items) results_[line] += '\n';
  }

  loaded_model& m_;
  const translate_options& o_;
  const task& task_;
  std::size_t max_len_;
  std::vector<std::unique_ptr<decoding_worker>> workers_;  // [0] runs the loaded model
  std::mutex build_mu_;                                    // held while a worker's model is built
  std::vector<std::vector<std::int32_t>> ids_;
  std::vector<std::size_t> order_;  // the chunk's lines by source length
  std::vector<std::string> results_;
};

}  // namespace

std::size_t workers_for(const translate_options& o) {
  const std::size_t beam = o.sample ? 1 : o.beam.beam_size;
  if (o.batch_size > 256 || beam > 256 || o.batch_size * beam > 256) return 1;  // (no overflow)
  return std::max<std::size_t>(1, std::min(o.workers, static_cast<std::size_t>(threads())));
}

translate_report translate(loaded_model& m, std::istream& in, std::ostream& out, const translate_options& o,
                           const line_progress& progress) {
  const task& use = task_of(*m.net);
  const std::size_t max_len = o.max_len ? o.max_len : m.net->config().max_len;
  if (max_len < 2) throw error("decoding needs a max_len of at least 2");
  if (o.batch_size == 0) throw error("decoding needs a batch size of at least 1");
  if (o.sample && !use.samples()) throw error("a model that predicts labels cannot sample");
  std::optional<keeping_step_attention> keep;  // the searches read the model's step attention
  if (o.alignment != alignment_kind::none) {
    if (!use.has_cross_attention)
      throw error(use.a_model(m.net->config().family) + " has no cross-attention to align with");
    keep.emplace(*m.net, o.alignment_layer);  // throws for a layer past the model's
  }
  chunk_decoder decoder(m, o, max_len);
  translate_report r;
  r.kv_cached = m.net->set_kv_precision(o.kv_precision);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (const std::size_t tab = line.find('\t'); tab != std::string::npos) {
      ++r.tabbed;
      if (use.splits_source_target) line.resize(tab);  // a test set's line: decode its source
    }
    lines.push_back(std::move(line));
    if (lines.size() == o.chunk_lines) {
      decoder.run(lines, r.lines, out, r, progress);
      r.lines += lines.size();
      lines.clear();
    }
  }
  if (!lines.empty()) {
    decoder.run(lines, r.lines, out, r, progress);
    r.lines += lines.size();
  }
  return r;
}

}  // namespace attn
