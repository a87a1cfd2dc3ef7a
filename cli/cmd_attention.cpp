// attn attention -m CKPT < input > attn.csv: the model's attention weights as CSV, one row per
// (sentence, attention module, head, query position, key position); or, with --format svg|html,
// as pictures drawn from the same weights in memory (lib/viz: heatmap grids, a self-contained viewer).
//
// Input, one sentence per line:
//   transformer / rnn   `source` (the target is the model's own greedy translation) or
//                       `source<TAB>target` (the given target, teacher-forced)
//   lm, classifier      text
// The weights come from one teacher-forced forward pass without dropout (model::attention_maps),
// so they are exactly what the model computed while producing (or scoring) the target.
// Sentences stream: each one's rows are written before the next is read, so memory is one
// sentence's, and a sentence whose maps would not fit in memory is refused with the estimate.
#include <iostream>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "decode/attend.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "models/task.h"
#include "options.h"
#include "progress.h"
#include "viz/attention_pictures.h"
#include "viz/heatmap_svg.h"
#include "viz/viewer_html.h"

namespace attn::cli {

namespace {

struct attention_options {
  std::string base_path;  // --base: a LoRA adapter's base (default: the path it stores)
  std::string checkpoint_path, input_path = "-", output_path = "-";
  std::string layer = "all";   // all | N
  std::string head = "all";    // all | mean | N
  std::string format = "csv";  // csv | svg | html
  attend_options run;
};

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

// Checks --kind, --layer and --head against the model's attention layout and fills o.run.
void check_layout(attention_options& o, const model_config& c, const task& use) {
  std::string& kind = o.run.kind;
  if (kind.empty()) kind = use.default_attention_kind();
  if (kind != "self" && kind != "cross" && kind != "all")
    throw usage_error("--kind must be self, cross or all, not '" + kind + "'");
  if (kind != "all" && !use.has_attention_kind(kind))
    throw usage_error(use.a_model(c.family) + " has no " + kind + "-attention (--kind " +
                      (kind == "self" ? "cross" : "self") + ")");
  o.run.layer = parse_index(o.layer, "layer", "all or a layer number");
  if (o.head == "mean")
    o.run.head_mean = true;
  else
    o.run.head = parse_index(o.head, "head", "all, mean or a head number");
  const std::size_t layers = use.attention_layers(c), heads = use.attention_heads(c);
  if (o.run.layer >= static_cast<long>(layers))
    throw usage_error("--layer " + o.layer + ": the model has " + std::to_string(layers) + " layer(s), 0.." +
                      std::to_string(layers - 1));
  if (o.run.head >= static_cast<long>(heads))
    throw usage_error("--head " + o.head + ": the model has " + std::to_string(heads) + " head(s), 0.." +
                      std::to_string(heads - 1));
}

}  // namespace

int cmd_attention(const args& argv) {
  attention_options o;
  command_line cl;
  cl.name = "attention";
  cl.usage = "attn attention -m CKPT [--format csv|svg|html] [-o FILE] [options] [INPUT]    (INPUT or - : stdin)";
  // clang-format off
  cl.options.add_options()
      ("model,m", po::value(&o.checkpoint_path)->required(), "checkpoint whose attention to dump")
      ("base", po::value(&o.base_path), "a LoRA adapter checkpoint's base (default: the path the adapter stores)")
      ("input", po::value(&o.input_path)->default_value("-"),
       "one sentence per line (- = stdin); transformer/rnn: `source` (attention while producing the "
       "greedy translation) or `source<TAB>target` (teacher-forced)")
      ("output,o", po::value(&o.output_path)->default_value("-"), "where the dump goes (- = stdout), written atomically")
      ("format", po::value(&o.format)->default_value("csv"),
       "csv (one row per weight) | svg (a grid of heatmaps per sentence, viridis scale) | html (a self-contained "
       "viewer: pick sentence, module, layer, head or mean; matrix and lines views)")
      ("kind", po::value(&o.run.kind)->default_value(""),
       "self | cross | all (default: cross for transformer/rnn, self for lm/classifier)")
      ("layer", po::value(&o.layer)->default_value("all"), "all, or one layer number (0-based)")
      ("head", po::value(&o.head)->default_value("all"), "all, mean (average over heads), or one head number")
      ("max-len", po::value(&o.run.max_len)->default_value(0), "cut longer sequences to N tokens (0 = the model's max_len)");
  // clang-format on
  cl.positional.add("input", 1);
  cl.positional_noun = "the input";
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (o.run.max_len == 1) throw usage_error("--max-len must be 0 (the model's max_len) or at least 2");  // before -o opens
  if (o.format != "csv" && o.format != "svg" && o.format != "html")
    throw usage_error("--format must be csv, svg or html, not '" + o.format + "'");

  refuse_overwrite({{"", o.input_path}, {"-m", o.checkpoint_path}}, {{"-o", o.output_path}});
  const checkpoint c = load_checkpoint(o.checkpoint_path);
  loaded_model m = load_model(c, o.checkpoint_path, o.base_path);
  if (m.adapter)  // an adapter's base is an input too
    refuse_overwrite({adapter_base_input(o.base_path, m.base_path)}, {{"-o", o.output_path}});
  const model_config& cfg = m.net->config();
  if (!task_of(*m.net).allows_max_len(cfg, o.run.max_len))
    throw usage_error("--max-len " + std::to_string(o.run.max_len) + " exceeds the model's max_len " +
                      std::to_string(cfg.max_len) + " (its learned positions end there)");
  input in(o.input_path);
  output out(o.output_path);
  check_layout(o, m.net->config(), task_of(*m.net));
  lines_progress shown(cl.name, show_lines_progress(cl.quiet, o.output_path));
  attend_report r;
  if (o.format == "csv") {
    r = attend(m, in.stream(), out.stream(), o.run, shown.callback());
  } else {  // pictures need a sentence's every map before drawing: collected, then written
    viz::picture_collector maps;
    r = attend_maps(m, in.stream(), o.run, maps.sink(), shown.callback());
    if (o.format == "svg")
      viz::write_heatmap_svg(maps.sentences(), out.stream());
    else
      viz::write_viewer_html(maps.sentences(), "attention of " + o.checkpoint_path, out.stream());
  }
  shown.done();
  if (in.stream().bad()) throw read_error(o.input_path);
  out.close();
  if (r.cut > 0)
    std::cerr << "attn attention: warning: " << r.cut << " sequence(s) cut to "
              << (o.run.max_len ? "--max-len " + std::to_string(o.run.max_len)
                                : "the model's max_len " + std::to_string(cfg.max_len))
              << " tokens\n";
  return 0;
}

}  // namespace attn::cli
