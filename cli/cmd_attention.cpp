// attn attention -m CKPT < input > attn.csv: the model's attention weights as CSV, one row per
// (sentence, attention module, head, query position, key position).
//
// Input, one sentence per line:
//   transformer / rnn   `source` (the target is the model's own greedy translation) or
//                       `source<TAB>target` (the given target, teacher-forced)
//   lm, classifier      text
// The weights come from one teacher-forced forward pass without dropout (model::attention_maps),
// so they are exactly what the model computed while producing (or scoring) the target.
// Sentences stream: each one's rows are written before the next is read, so memory is one
// sentence's, and a sentence whose maps would not fit in memory is refused with the estimate.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "decode/greedy.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "models/memory_estimate.h"
#include "options.h"
#include "text/utf8.h"
#include "text/vocab.h"

namespace attn::cli {

namespace {

struct attention_options {
  std::string checkpoint_path, input_path = "-", output_path = "-";
  std::string kind;           // self | cross | all ("" = the family's default)
  std::string layer = "all";  // all | N
  std::string head = "all";   // all | mean | N
  std::size_t max_len = 0;    // 0: the model's max_len
};

// A CSV field: quoted (with "" for ") when it holds a comma, quote or line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// "all" -> -1, a number -> itself; name is the option for messages.
long parse_index(const std::string& text, const char* name, const char* words) {
  if (text == "all") return -1;
  try {
    std::size_t used = 0;
    const long v = std::stol(text, &used);
    if (used == text.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw usage_error(std::string("--") + name + " takes " + words + ", not '" + text + "'");
}

// One sentence ready for model::attention_maps: a batch of one item, and the token pieces of
// each side as the map labels them (source: src; target queries: tgt_out; target keys: tgt_in).
struct prepared {
  batch b;
  std::vector<std::string> src, tgt_query, tgt_key;
};

class dumper {
 public:
  dumper(loaded_model& m, const attention_options& o, std::ostream& out) : m_(m), out_(out) {
    const model_config& c = m.net->config();
    family_ = c.family;
    seq2seq_ = family_ == "transformer" || family_ == "rnn";
    max_len_ = o.max_len ? o.max_len : c.max_len;
    if (max_len_ < 2) throw usage_error("--max-len must be at least 2");
    kind_ = o.kind.empty() ? (seq2seq_ ? "cross" : "self") : o.kind;
    if (kind_ != "self" && kind_ != "cross" && kind_ != "all")
      throw usage_error("--kind must be self, cross or all, not '" + kind_ + "'");
    if (kind_ == "cross" && !seq2seq_) throw usage_error("a " + family_ + " model has no cross-attention (--kind self)");
    if (kind_ == "self" && family_ == "rnn") throw usage_error("an rnn model has no self-attention (--kind cross)");
    layer_ = parse_index(o.layer, "layer", "all or a layer number");
    if (o.head == "mean")
      mean_ = true;
    else
      head_ = parse_index(o.head, "head", "all, mean or a head number");
    const std::size_t layers = family_ == "rnn" ? 1 : c.layers;
    if (layer_ >= static_cast<long>(layers))
      throw usage_error("--layer " + o.layer + ": the model has " + std::to_string(layers) + " layer(s), 0.." +
                        std::to_string(layers - 1));
    const std::size_t heads = family_ == "rnn" ? 1 : c.heads;
    if (head_ >= static_cast<long>(heads))
      throw usage_error("--head " + o.head + ": the model has " + std::to_string(heads) + " head(s), 0.." +
                        std::to_string(heads - 1));
    out_ << "sentence,module,kind,layer,head,query_pos,query_token,key_pos,key_token,weight\n";
  }

  // Dumps one sentence. Memory is one sentence's: its forward pass and maps live on a tape of
  // this scope (freed at return, unlike a reused tape's buffers), and each map is released once
  // written. A sentence whose maps would not fit is refused before the forward pass.
  void line(std::string_view text, std::uint64_t number) {
    if (!utf8_valid(text)) throw error("line " + std::to_string(number) + ": invalid UTF-8");
    const prepared p = prepare(text, number);
    check_memory(
        estimate_attention_dump(m_.net->config(), static_cast<double>(p.b.src_len), static_cast<double>(p.b.tgt_len)),
        "line " + std::to_string(number) + ": dumping its attention (" + std::to_string(p.b.src_len) + " source and " +
            std::to_string(p.b.tgt_len) + " target positions)",
        budget_, "cut it with --max-len");
    tape t;
    std::vector<attention_map> maps = m_.net->attention_maps(t, p.b);
    for (attention_map& a : maps) {
      if ((kind_ == "all" || a.kind == kind_) && (layer_ < 0 || a.layer == static_cast<std::size_t>(layer_)))
        write(a, p, number);
      a.weights = matrix::from_shape({0, 0});  // released as soon as written
    }
  }

  // Lines cut to --max-len, for one note at the end.
  std::size_t truncated() const { return truncated_; }

 private:
  void fit(std::vector<std::int32_t>& ids, std::size_t limit, bool keep_eos) {
    if (ids.size() <= limit) return;
    ids.resize(limit);
    if (keep_eos) ids.back() = eos_id;
    ++truncated_;
  }

  std::vector<std::string> pieces(const tokenizer& tok, const std::vector<std::int32_t>& ids) const {
    std::vector<std::string> out;
    for (std::int32_t id : ids) out.push_back(tok.piece(id));
    return out;
  }

  prepared prepare(std::string_view text, std::uint64_t number) {
    prepared p;
    batch& b = p.b;
    b.size = 1;
    std::vector<std::int32_t> src, tgt;
    if (seq2seq_) {
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
        tape t;
        tgt = greedy_decode(*m_.net, t, b, max_len_ - 1, bos_id).at(0);
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
      src.push_back(family_ == "lm" ? eos_id : bos_id);
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

  // number: the 1-based input line; the CSV's sentence column is 0-based, as decode's n-best index.
  void write(const attention_map& a, const prepared& p, std::uint64_t number) {
    const std::vector<std::string>& q_tokens = a.queries == sequence_side::source ? p.src : p.tgt_query;
    const std::vector<std::string>& k_tokens = a.keys == sequence_side::source ? p.src : p.tgt_key;
    const std::size_t Tq = a.q_len, Tk = a.k_len;  // one item, no padding: every position is valid
    const std::string prefix = std::to_string(number - 1) + ',' + csv_field(a.module) + ',' + a.kind + ',' +
                               std::to_string(a.layer) + ',';
    char number_text[32];
    for (std::size_t h = 0; h < a.heads; ++h) {
      if (mean_ && h > 0) break;
      if (!mean_ && head_ >= 0 && h != static_cast<std::size_t>(head_)) continue;
      for (std::size_t q = 0; q < Tq; ++q) {
        for (std::size_t k = 0; k < Tk; ++k) {
          float w = 0;
          if (mean_) {
            for (std::size_t g = 0; g < a.heads; ++g) w += a.weights(g * Tq + q, k);  // weights [H*Tq, Tk]
            w /= static_cast<float>(a.heads);
          } else {
            w = a.weights(h * Tq + q, k);
          }
          std::snprintf(number_text, sizeof number_text, "%.6g", static_cast<double>(w));
          out_ << prefix << (mean_ ? std::string("mean") : std::to_string(h)) << ',' << q << ','
               << csv_field(q_tokens.at(q)) << ',' << k << ',' << csv_field(k_tokens.at(k)) << ',' << number_text
               << '\n';
        }
      }
    }
  }

  loaded_model& m_;
  std::ostream& out_;
  std::string family_, kind_;
  bool seq2seq_ = false, mean_ = false;
  long layer_ = -1, head_ = -1;
  std::size_t max_len_ = 0, truncated_ = 0;
  available_memory budget_ = memory_available();  // taken once the model exists, not per line
};

}  // namespace

int cmd_attention(const args& argv) {
  attention_options o;
  command_line cl;
  cl.name = "attention";
  cl.usage = "attn attention -m CKPT [options] [INPUT]    (INPUT or - : stdin; CSV on stdout)";
  // clang-format off
  cl.options.add_options()
      ("model,m", po::value(&o.checkpoint_path)->required(), "checkpoint whose attention to dump")
      ("input", po::value(&o.input_path)->default_value("-"),
       "one sentence per line (- = stdin); transformer/rnn: `source` (attention while producing the "
       "greedy translation) or `source<TAB>target` (teacher-forced)")
      ("output,o", po::value(&o.output_path)->default_value("-"), "where the CSV goes (- = stdout)")
      ("kind", po::value(&o.kind)->default_value(""),
       "self | cross | all (default: cross for transformer/rnn, self for lm/classifier)")
      ("layer", po::value(&o.layer)->default_value("all"), "all, or one layer number (0-based)")
      ("head", po::value(&o.head)->default_value("all"), "all, mean (average over heads), or one head number")
      ("max-len", po::value(&o.max_len)->default_value(0), "cut longer sequences to N tokens (0 = the model's max_len)");
  // clang-format on
  cl.positional.add("input", 1);
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (o.max_len == 1) throw usage_error("--max-len must be 0 (the model's max_len) or at least 2");  // before -o opens

  refuse_overwrite({{"", o.input_path}, {"-m", o.checkpoint_path}}, {{"-o", o.output_path}});
  const checkpoint c = load_checkpoint(o.checkpoint_path);
  loaded_model m = load_model(c, o.checkpoint_path);
  input in(o.input_path);
  output out(o.output_path);
  dumper d(m, o, out.stream());
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in.stream(), line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    d.line(line, number);
  }
  if (in.stream().bad()) throw error("error reading '" + o.input_path + "'");
  out.close();
  if (d.truncated() > 0)
    std::cerr << "attn attention: " << d.truncated() << " sequence(s) cut to --max-len "
              << (o.max_len ? o.max_len : m.net->config().max_len) << " tokens\n";
  return 0;
}

}  // namespace attn::cli
