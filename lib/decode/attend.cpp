#include "decode/attend.h"

#include <cstdio>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "decode/greedy.h"
#include "models/memory_estimate.h"
#include "models/task.h"
#include "text/utf8.h"

namespace attn {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

namespace {

// One sentence ready for model::attention_maps: a batch of one item, and the token pieces of
// each side as the map labels them (source: src; target queries: tgt_out; target keys: tgt_in).
struct prepared {
  batch b;
  std::vector<std::string> src, tgt_query, tgt_key;
};

class dumper {
 public:
  dumper(loaded_model& m, const attend_options& o, const head_map_sink& sink)
      : m_(m), o_(o), task_(task_of(*m.net)), sink_(sink) {
    const model_config& c = m.net->config();
    max_len_ = o.max_len ? o.max_len : c.max_len;
    if (max_len_ < 2) throw error("an attention dump needs a max_len of at least 2");
    kind_ = o.kind.empty() ? task_.default_attention_kind() : o.kind;
    if (kind_ != "all" && !task_.has_attention_kind(kind_))
      throw error(task_.a_model(c.family) + " has no '" + kind_ + "' attention");
    if (o.layer >= static_cast<long>(task_.attention_layers(c)) ||
        o.head >= static_cast<long>(task_.attention_heads(c)))
      throw error("layer " + std::to_string(o.layer) + " / head " + std::to_string(o.head) + " is past the model's");
  }

  // Dumps one sentence. Memory is one sentence's: its forward pass and maps live on a tape of
  // this scope (freed at return, unlike a reused tape's buffers), and each map is released once
  // written. A sentence whose maps would not fit is refused before the forward pass.
  void line(std::string_view text, std::uint64_t number) {
    if (!utf8_valid(text)) throw error("line " + std::to_string(number) + ": invalid UTF-8");
    const prepared p = prepare(text, number);
    check_fits(number, p.b.src_len, p.b.tgt_len);
    tape t;
    std::vector<attention_map> maps = m_.net->attention_maps(t, p.b);
    for (attention_map& a : maps) {
      if ((kind_ == "all" || a.kind == kind_) && (o_.layer < 0 || a.layer == static_cast<std::size_t>(o_.layer)))
        write(a, p, number);
      a.weights = matrix::from_shape({0, 0});  // released as soon as written
    }
  }

  std::size_t cut() const { return cut_; }

 private:
  // Refuses sentence `number` when its maps would not fit (src_len source and tgt_len target
  // positions; a translation's maps are at least its source's, so that is checked before translating).
  void check_fits(std::uint64_t number, std::size_t src_len, std::size_t tgt_len) const {
    check_memory(estimate_attention_dump(m_.net->config(), static_cast<double>(src_len), static_cast<double>(tgt_len)),
                 "line " + std::to_string(number) + ": dumping its attention (" + std::to_string(src_len) +
                     " source and " +
                     (tgt_len > 1 || task_.attention != attention_input::source_target ? std::to_string(tgt_len)
                                                                                       : std::string("at least 1")) +
                     " target positions)",
                 budget_, "cut it with --max-len");
  }

  void fit(std::vector<std::int32_t>& ids, std::size_t limit, bool keep_eos) {
    if (ids.size() <= limit) return;
    ids.resize(limit);
    if (keep_eos) ids.back() = eos_id;
    ++cut_;
  }

  static std::vector<std::string> pieces(const tokenizer& tok, const std::vector<std::int32_t>& ids) {
    std::vector<std::string> out;
    for (std::int32_t id : ids) out.push_back(tok.piece(id));
    return out;
  }

  prepared prepare(std::string_view text, std::uint64_t number) {
    prepared p;
    batch& b = p.b;
    b.size = 1;
    std::vector<std::int32_t> src, tgt;
    if (task_.attention == attention_input::source_target) {
      const std::size_t tab = text.find('\t');
      if (tab != std::string_view::npos && text.find('\t', tab + 1) != std::string_view::npos)
        throw error("line " + std::to_string(number) + ": expected `source` or `source<TAB>target`, found " +
                    "more than two tab-separated fields");
      m_.src->encode(text.substr(0, tab), src);
      src.push_back(eos_id);  // as in training: x <eos>
      fit(src, max_len_, true);
      b.src = src;
      b.src_len = src.size();
      b.src_lengths = {static_cast<std::int32_t>(src.size())};
      if (tab != std::string_view::npos) {
        m_.tgt().encode(text.substr(tab + 1), tgt);
      } else {
        check_fits(number, b.src_len, 1);  // before a translation that may take long
        tape t;
        tgt = greedy_decode(*m_.net, t, b, max_len_ - 1, task_.start_token).at(0);
      }
      fit(tgt, max_len_ - 1, false);
      b.tgt_len = tgt.size() + 1;
      b.tgt_in.push_back(bos_id);
      b.tgt_in.insert(b.tgt_in.end(), tgt.begin(), tgt.end());  // <bos> y
      b.tgt_out = tgt;
      b.tgt_out.push_back(eos_id);  // y <eos>
      b.tgt_lengths = {static_cast<std::int32_t>(b.tgt_len)};
      p.tgt_query = pieces(m_.tgt(), b.tgt_out);
      p.tgt_key = pieces(m_.tgt(), b.tgt_in);
    } else {
      // lm: the line follows an <eos>, as lines do in training; classifier: <bos> x
      src.push_back(task_.attention == attention_input::eos_text ? eos_id : bos_id);
      m_.src->encode(text, src);
      fit(src, max_len_, false);
      b.src = src;
      b.src_len = src.size();
      b.src_lengths = {static_cast<std::int32_t>(src.size())};
      b.tgt_out.assign(src.begin() + 1, src.end());  // lm: the next tokens (unused by attention_maps)
      b.tgt_out.push_back(eos_id);
    }
    p.src = pieces(*m_.src, src);
    return p;
  }

  // Gives the sink each selected head (or the mean) of map `a`. number: the 1-based input line;
  // head_map::sentence is 0-based, as decode's n-best index.
  void write(const attention_map& a, const prepared& p, std::uint64_t number) {
    head_map h;
    h.sentence = number - 1;
    h.module = a.module;
    h.kind = a.kind;
    h.layer = a.layer;
    h.heads = a.heads;
    h.query_tokens = a.queries == sequence_side::source ? &p.src : &p.tgt_query;
    h.key_tokens = a.keys == sequence_side::source ? &p.src : &p.tgt_key;
    const std::size_t Tq = a.q_len, Tk = a.k_len;  // one item, no padding: every position is valid
    if (h.query_tokens->size() != Tq || h.key_tokens->size() != Tk)
      throw error("attention map " + a.module + " does not match the sentence's lengths");
    h.weights.assign(Tq * Tk, 0.0f);  // [Tq, Tk]
    if (o_.head_mean) {
      h.head = -1;
      for (std::size_t q = 0; q < Tq; ++q)
        for (std::size_t k = 0; k < Tk; ++k) {
          float w = 0;
          for (std::size_t g = 0; g < a.heads; ++g) w += a.weights(g * Tq + q, k);  // weights [H*Tq, Tk]
          h.weights[q * Tk + k] = w / static_cast<float>(a.heads);
        }
      sink_(h);
      return;
    }
    for (std::size_t head = 0; head < a.heads; ++head) {
      if (o_.head >= 0 && head != static_cast<std::size_t>(o_.head)) continue;
      h.head = static_cast<long>(head);
      for (std::size_t q = 0; q < Tq; ++q)
        for (std::size_t k = 0; k < Tk; ++k) h.weights[q * Tk + k] = a.weights(head * Tq + q, k);
      sink_(h);
    }
  }

  loaded_model& m_;
  const attend_options& o_;
  const task& task_;
  const head_map_sink& sink_;
  std::string kind_;
  std::size_t max_len_ = 0, cut_ = 0;
  available_memory budget_ = memory_available();  // taken once the model exists, not per line
};

// Runs the dumper over every line of `in` (a trailing '\r' dropped).
attend_report dump_lines(dumper& d, std::istream& in, const line_progress& progress) {
  attend_report r;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    d.line(line, ++r.lines);
    if (progress) progress(r.lines);
  }
  r.cut = d.cut();
  return r;
}

}  // namespace

attend_report attend_maps(loaded_model& m, std::istream& in, const attend_options& o, const head_map_sink& sink,
                          const line_progress& progress) {
  dumper d(m, o, sink);
  return dump_lines(d, in, progress);
}

attend_report attend(loaded_model& m, std::istream& in, std::ostream& out, const attend_options& o,
                     const line_progress& progress) {
  char number[32];
  const head_map_sink rows = [&](const head_map& h) {
    const std::string prefix = std::to_string(h.sentence) + ',' + csv_field(h.module) + ',' + h.kind + ',' +
                               std::to_string(h.layer) + ',' +
                               (h.head < 0 ? std::string("mean") : std::to_string(h.head)) + ',';
    for (std::size_t q = 0; q < h.queries(); ++q) {
      const std::string query = ',' + csv_field((*h.query_tokens)[q]) + ',';
      for (std::size_t k = 0; k < h.keys(); ++k) {
        std::snprintf(number, sizeof number, "%.6g", static_cast<double>(h.at(q, k)));
        out << prefix << q << query << k << ',' << csv_field((*h.key_tokens)[k]) << ',' << number << '\n';
      }
    }
  };
  dumper d(m, o, rows);  // checks the options against the model before the header goes out
  out << "sentence,module,kind,layer,head,query_pos,query_token,key_pos,key_token,weight\n";
  return dump_lines(d, in, progress);
}

}  // namespace attn
