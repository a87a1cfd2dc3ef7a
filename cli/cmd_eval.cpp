// attn eval, two modes:
//   attn eval --ref REF [--ref REF2 ...] [--metric bleu,chrf,accuracy] [HYP]   score hypotheses
//   attn eval -m CKPT --data FILE                                             score a model
// The first computes sacrebleu's corpus BLEU / chrF2 (lib/eval) or exact-match accuracy; the
// second reads FILE in the model family's training format and reports what training validation
// reports (loss, perplexity, accuracy, lm bits per byte), through attn::validate().
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/error.h"
#include "data/dataset.h"
#include "eval/accuracy.h"
#include "eval/bleu.h"
#include "eval/chrf.h"
#include "eval/text.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "models/task.h"
#include "options.h"
#include "progress.h"
#include "train/loop.h"

namespace attn::cli {

namespace {

struct eval_options {
  // Hypothesis mode.
  std::vector<std::string> ref_paths;
  std::string hyp_path = "-";
  std::vector<std::string> metrics;  // bleu, chrf, accuracy: in the order asked, once each
  bool lowercase = false;
  // Model mode.
  std::string base_path;  // --base: a LoRA adapter's base (default: the path it stores)
  std::string checkpoint_path, data_path;
  std::size_t max_len = 0;  // 0: the checkpoint's max_len
  batching_config batching;
  long_policy too_long = long_policy::truncate;
  bool strict = false;
  bool progress = false;  // a progress line while reading the data (a terminal, no -q)
  // Both.
  bool json = false;
};

std::string display_name(const std::string& path) {
  return path == "-" ? "stdin" : path;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// A score to 10 significant digits, as the text form shows: BLEU of identical text is 100, not
// 100.00000000000004. NaN and Inf stay (JSON has neither: dump() writes null).
double rounded(double x) { return std::isfinite(x) ? std::strtod(fmt("%.10g", x).c_str(), nullptr) : x; }

void warn(const std::string& msg) {
  std::cerr << "attn eval: " << one_line(msg) << "\n";  // warnings quote data, as errors do
}

// "bleu,chrf" and repeated --metric values -> {"bleu", "chrf"}, each once, in order.
std::vector<std::string> parse_metrics(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& arg : given) {
    std::size_t start = 0;
    while (start <= arg.size()) {
      const std::size_t comma = std::min(arg.find(',', start), arg.size());
      const std::string name = arg.substr(start, comma - start);
      if (name != "bleu" && name != "chrf" && name != "accuracy")
        throw usage_error("unknown metric '" + name + "' (bleu, chrf or accuracy)");
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
      start = comma + 1;
    }
  }
  if (out.empty()) out.push_back("bleu");
  return out;
}

// The lines of a file (or stdin) with trailing whitespace removed, as sacrebleu's command line
// reads them (which also drops the '\r' of CRLF files).
std::vector<std::string> read_lines(const std::string& path) {
  input in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in.stream(), line)) lines.emplace_back(rstrip_space(line));
  if (in.stream().bad()) throw attn::read_error(display_name(path));
  return lines;
}

int score_hypotheses(const eval_options& o) {
  std::vector<named_path> inputs = {{"", o.hyp_path}};
  for (const auto& p : o.ref_paths) inputs.push_back({"--ref", p});
  refuse_overwrite(inputs, {{"", "-"}});  // `attn eval … >> HYP` would append to an input
  const std::vector<std::string> hyps = read_lines(o.hyp_path);
  std::vector<std::vector<std::string>> refs;
  for (const auto& p : o.ref_paths) refs.push_back(read_lines(p));
  for (std::size_t k = 0; k < refs.size(); ++k)
    if (refs[k].size() != hyps.size())
      throw attn::error("the hypotheses ('" + display_name(o.hyp_path) + "') have " + std::to_string(hyps.size()) +
                        " lines but the reference '" + display_name(o.ref_paths[k]) + "' has " +
                        std::to_string(refs[k].size()));
  if (hyps.empty()) throw attn::error("'" + display_name(o.hyp_path) + "' holds no lines: nothing to score");

  const auto asked = [&](const char* m) { return std::find(o.metrics.begin(), o.metrics.end(), m) != o.metrics.end(); };
  const bool needs_refs = asked("bleu") || asked("chrf");
  if (needs_refs)  // sacrebleu refuses a line without any reference; say which line
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      bool any = false;
      for (const auto& r : refs) any = any || !r[i].empty();
      if (!any)
        throw attn::error(refs.size() == 1
                              ? display_name(o.ref_paths[0]) + ":" + std::to_string(i + 1) +
                                    ": empty reference line (BLEU and chrF need a reference for every line)"
                              : "line " + std::to_string(i + 1) +
                                    ": every reference is empty (BLEU and chrF need one for every line)");
    }

  std::vector<std::string> text;
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const auto& m : o.metrics) {
    if (m == "bleu") {
      bleu_options bo;
      bo.lowercase = o.lowercase;
      const bleu_score b = corpus_bleu(hyps, refs, bo);
      text.push_back(format_bleu(b));
      json["bleu"] = rounded(b.score);
      json["precisions"] = nlohmann::ordered_json::array();
      json["counts"] = nlohmann::ordered_json::array();
      json["totals"] = nlohmann::ordered_json::array();
      for (std::size_t n = 0; n < bleu_max_order; ++n) {
        json["precisions"].push_back(rounded(b.precisions[n]));
        json["counts"].push_back(b.stats.correct[n]);
        json["totals"].push_back(b.stats.total[n]);
      }
      json["bp"] = rounded(b.bp);
      json["ratio"] = rounded(b.ratio);
      json["hyp_len"] = b.stats.hyp_len;
      json["ref_len"] = b.stats.ref_len;
    } else if (m == "chrf") {
      chrf_options co;
      co.lowercase = o.lowercase;
      const double c = corpus_chrf(hyps, refs, co);
      text.push_back(format_chrf(c));
      json["chrf"] = rounded(c);
    } else {
      const accuracy_score a = corpus_accuracy(hyps, refs, o.lowercase);
      text.push_back(format_accuracy(a));
      json["accuracy"] = rounded(a.value());
      json["correct"] = a.correct;
      json["lines"] = a.total;
    }
  }
  if (o.json) {
    std::cout << json.dump() << "\n";  // NaN/Inf (JSON has none) are written as null
  } else {
    for (const auto& t : text) std::cout << t << "\n";
  }
  std::cout.flush();
  if (!std::cout) throw attn::error("error writing to stdout");
  return 0;
}

int score_model(const eval_options& o) {
  refuse_overwrite({{"-m", o.checkpoint_path}, {"", o.data_path}}, {{"", "-"}});
  const checkpoint c = load_checkpoint(o.checkpoint_path);
  loaded_model lm = load_model(c, o.checkpoint_path, o.base_path);
  if (lm.adapter)  // an adapter's base is an input too (`attn eval -m ADAPTER >> BASE`)
    refuse_overwrite({adapter_base_input(o.base_path, lm.base_path)}, {{"", "-"}});
  const model_config& cfg = lm.net->config();
  const task& use = task_of(*lm.net);
  if (!use.allows_max_len(cfg, o.max_len))
    throw usage_error("--max-len " + std::to_string(o.max_len) + " exceeds the model's max_len " +
                      std::to_string(cfg.max_len) + " (its learned positions end there)");

  dataset_options d;
  d.format = use.format;
  d.max_len = o.max_len ? o.max_len : cfg.max_len;
  d.too_long = o.too_long;
  d.strict = o.strict;
  d.grow_labels = false;  // a label the model does not know makes the line malformed
  std::vector<std::string> labels = lm.labels;
  const std::string name = display_name(o.data_path);
  data_report report;
  dataset data;
  lines_progress reading("eval", o.progress);  // lines read, then examples scored
  {
    input in(o.data_path);
    counted_input counted(in.stream(), reading);
    std::istream& text = o.progress ? counted.stream() : in.stream();
    data = read_dataset(text, name, d, *lm.src, lm.tgt(), labels, report);
    reading.done();
    if (text.bad()) throw attn::read_error(name);
  }
  // Nothing usable: one error line (the skip summary would only repeat it); else the warnings.
  if (data.examples.empty()) throw attn::error(no_examples_message(report, name, d.format, d.max_len));
  for (const std::string& line : report_warnings(report, name, d.max_len)) warn(line);

  lines_progress scoring("eval", o.progress, std::cerr, reading.start(), "examples");
  const valid_result v = validate(*lm.net, data, o.batching, scoring.callback());
  scoring.done();
  const bool labeled = d.format == data_format::labeled;
  const bool lm_text = d.format == data_format::lm;
  if (o.json) {
    nlohmann::ordered_json j;
    j["loss"] = rounded(v.loss);
    j["perplexity"] = rounded(v.perplexity);
    j["accuracy"] = rounded(v.accuracy);
    if (lm_text) j["bits_per_byte"] = rounded(v.bits_per_byte);
    j[labeled ? "examples" : "tokens"] = v.tokens;
    std::cout << j.dump() << "\n";  // NaN/Inf (JSON has none) are written as null
  } else {
    std::cout << "loss = " << fmt("%.4f", v.loss) << " ppl = " << fmt("%.2f", v.perplexity)
              << " accuracy = " << fmt("%.4f", v.accuracy);
    if (lm_text) std::cout << " bits/byte = " << fmt("%.4f", v.bits_per_byte);
    std::cout << (labeled ? " examples = " : " tokens = ") << v.tokens << "\n";
  }
  std::cout.flush();
  if (!std::cout) throw attn::error("error writing to stdout");
  return 0;
}

}  // namespace

int cmd_eval(const args& argv) {
  eval_options o;
  std::vector<std::string> metrics;
  std::string long_text;
  command_line cl;
  cl.name = "eval";
  cl.usage =
      "attn eval --ref REF [--ref REF2 ...] [--metric bleu,chrf,accuracy] [HYP]   (HYP or - : stdin)\n"
      "       attn eval -m CKPT [--data] DATA   (DATA or - : stdin)";
  // clang-format off
  cl.options.add_options()
      ("ref,r", po::value(&o.ref_paths)->composing(), "reference file, one sentence per line (repeat for several references; - = stdin)")
      ("hyp", po::value(&o.hyp_path)->default_value("-"), "hypotheses, one per line (- = stdin)")
      ("metric", po::value(&metrics)->composing(), "bleu, chrf or accuracy; repeatable or comma-separated (default: bleu)")
      ("lowercase", po::bool_switch(&o.lowercase), "case-insensitive BLEU, chrF and accuracy")
      ("model,m", po::value(&o.checkpoint_path), "checkpoint to score on DATA")
      ("base", po::value(&o.base_path), "a LoRA adapter checkpoint's base (default: the path the adapter stores)")
      ("data", po::value(&o.data_path), "model mode: the data, in the model family's training format (also the positional argument; - = stdin, the default)")
      ("max-len", po::value(&o.max_len)->default_value(0), "model mode: longest sequence / lm window in tokens (0 = the checkpoint's max_len)")
      ("batch-tokens", po::value(&o.batching.batch_tokens)->default_value(4096), "model mode: padded tokens per batch")
      ("batch-size", po::value(&o.batching.batch_size)->default_value(0), "model mode: sentences per batch instead of --batch-tokens (0: use --batch-tokens)")
      ("long", po::value(&long_text)->default_value("truncate"), "model mode: longer sequences: truncate | skip")
      ("strict", po::bool_switch(&o.strict), "model mode: a malformed data line is an error instead of being skipped")
      ("json", po::bool_switch(&o.json), "print one JSON object instead of text lines");
  // clang-format on
  cl.positional.add("hyp", 1);
  cl.positional_noun = "the hypotheses";
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;

  auto given = [&](const char* opt) { return vm.count(opt) && !vm[opt].defaulted(); };
  if (given("model")) {
    if (given("ref")) throw usage_error("--ref and -m exclude each other: score hypotheses or a model, not both");
    // With -m, the positional argument is the data to score (as decode's is its input).
    if (given("data") && cl.given_positionally.count("hyp"))
      throw usage_error(given_twice_message("the data", "--data"));
    if (given("hyp") && !given("data")) {
      o.data_path = o.hyp_path;
      vm.erase("hyp");
      o.hyp_path = "-";
    }
    for (const char* opt : {"hyp", "metric", "lowercase"})
      if (given(opt))
        throw usage_error(std::string(std::string(opt) == "hyp" ? "a hypothesis file" : "--" + std::string(opt)) +
                          " is for scoring hypotheses (--ref), not a model (-m)");
    if (o.data_path.empty()) o.data_path = "-";  // the data on stdin
    if (o.max_len == 1) throw usage_error("--max-len must be at least 2 (0 = the checkpoint's max_len)");
    if (long_text != "truncate" && long_text != "skip")
      throw usage_error("--long must be truncate or skip, not '" + long_text + "'");
    o.too_long = long_text == "skip" ? long_policy::skip : long_policy::truncate;
    if (o.batching.batch_size > 0)
      o.batching.batch_tokens = 0;
    else if (o.batching.batch_tokens == 0)
      throw usage_error("--batch-tokens must be at least 1");
    o.batching.shuffle = false;
    o.progress = show_lines_progress(cl.quiet, "");  // stdout gets one result line at the end
    return score_model(o);
  }

  if (!given("ref"))
    throw usage_error(
        "give --ref REF to score hypotheses, or -m CKPT --data FILE to score a model (see 'attn eval --help')");
  for (const char* opt : {"data", "max-len", "batch-tokens", "batch-size", "long", "strict"})
    if (given(opt)) throw usage_error("--" + std::string(opt) + " is for scoring a model (-m)");
  o.metrics = parse_metrics(metrics);
  int stdin_users = o.hyp_path == "-";
  for (const auto& r : o.ref_paths) stdin_users += r == "-";
  if (stdin_users > 1) throw usage_error("only one of the hypotheses and references can be read from stdin (-)");
  return score_hypotheses(o);
}

}  // namespace attn::cli
