#include "models/checkpoint_record.h"

#include <sstream>

#include "core/error.h"
#include "core/text_codec.h"
#include "text/vocab_file.h"

namespace attn {

namespace {

std::unique_ptr<tokenizer> tokenizer_from(const checkpoint& c, const std::string& role, const std::string& name) {
  auto it = c.vocabularies.find(role);
  if (it == c.vocabularies.end()) throw error(name + ": the checkpoint holds no '" + role + "' vocabulary");
  std::istringstream in(it->second);
  return make_tokenizer(read_vocab(in, name + " (" + role + " vocabulary)"));
}

std::string vocab_text(const vocab& v) {
  std::ostringstream s;
  write_vocab(v, s);
  return s.str();
}

}  // namespace

std::string join_labels(const std::vector<std::string>& labels) {
  return join_names(labels, "\t");
}

std::vector<std::string> split_labels(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = text.find('\t', start);
    out.push_back(text.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

checkpoint_record read_checkpoint_record(const checkpoint& c, const std::string& name) {
  checkpoint_record r;
  if (c.vocabularies.count("shared")) {
    r.src = tokenizer_from(c, "shared", name);
  } else if (!c.vocabularies.empty()) {
    r.src = tokenizer_from(c, "src", name);
    if (c.vocabularies.count("tgt")) r.tgt_own = tokenizer_from(c, "tgt", name);
  }
  if (const auto it = c.metadata.find("labels"); it != c.metadata.end()) r.labels = split_labels(it->second);
  if (const auto it = c.counters.find("step"); it != c.counters.end()) r.step = it->second;
  if (const auto it = c.metadata.find("finetuned_from"); it != c.metadata.end()) r.lineage.finetuned_from = it->second;
  if (const auto it = c.metadata.find("vocab_remapped"); it != c.metadata.end()) r.lineage.vocab_remapped = it->second;
  if (const auto it = c.metadata.find("finetuned_from_step"); it != c.metadata.end()) {
    const auto step = read_int(it->second);
    if (!step) throw error(name + ": finetuned_from_step is not a number: '" + it->second + "'");
    r.lineage.finetuned_from_step = *step;
  }
  return r;
}

std::map<std::string, std::string> vocabulary_texts(const model_tokenizers& t) {
  std::map<std::string, std::string> out;
  if (!t.src) return out;
  if (t.tgt_own) {
    out["src"] = vocab_text(t.src->vocabulary());
    out["tgt"] = vocab_text(t.tgt_own->vocabulary());
  } else {
    out["shared"] = vocab_text(t.src->vocabulary());
  }
  return out;
}

void write_checkpoint_record(const checkpoint_record& r, checkpoint& c) {
  c.vocabularies = vocabulary_texts(r);
  if (!r.labels.empty()) c.metadata["labels"] = join_labels(r.labels);
  if (!r.lineage.finetuned_from.empty()) c.metadata["finetuned_from"] = r.lineage.finetuned_from;
  if (!r.lineage.vocab_remapped.empty()) c.metadata["vocab_remapped"] = r.lineage.vocab_remapped;
  if (r.lineage.finetuned_from_step) c.metadata["finetuned_from_step"] = std::to_string(*r.lineage.finetuned_from_step);
}

}  // namespace attn
