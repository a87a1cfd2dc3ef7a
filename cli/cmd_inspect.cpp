// attn inspect -m CKPT: what a checkpoint holds — model family and config, vocabularies,
// parameter counts per module, training progress — on stdout, as text or (--json) one object.
#include <algorithm>
#include <cctype>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "core/parameter.h"
#include "core/text_codec.h"
#include "io/checkpoint.h"
#include "io/parameter_difference.h"
#include "models/lora.h"
#include "options.h"
#include "text/vocab_file.h"

namespace attn::cli {

namespace {

void print_map(std::ostream& out, const char* title, const std::map<std::string, std::string>& m) {
  if (m.empty()) return;
  out << title << ":\n";
  for (const auto& [k, v] : m) out << "  " << k << " = " << v << "\n";
}

// attn inspect -m A --compare B: the largest differences first, and the overall figures.
int print_comparison(const std::string& a_path, const checkpoint& a, const std::string& b_path, const checkpoint& b,
                     bool json) {
  std::vector<parameter_difference> rows = compare_parameters(a, b, b_path);
  const double overall = overall_relative(rows);
  double max_abs = 0;
  for (const auto& r : rows) max_abs = std::max(max_abs, r.max_abs);
  std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.relative > y.relative; });
  std::ostream& out = std::cout;
  if (json) {
    nlohmann::ordered_json j;
    j["checkpoint"] = a_path;
    j["compared_with"] = b_path;
    j["max_abs"] = max_abs;
    j["overall_relative"] = overall;
    j["parameters"] = nlohmann::ordered_json::array();
    for (const auto& r : rows)
      j["parameters"].push_back(
          {{"name", r.name}, {"max_abs", r.max_abs}, {"max_a", r.max_a}, {"relative", r.relative}});
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "compared: " << a_path << " and " << b_path << ", " << rows.size() << " parameter tensors\n";
  out << "max |a-b|: " << max_abs << "\noverall relative (max |a-b| / max |a|): " << overall << "\n";
  out << "largest relative differences by tensor:\n";
  for (std::size_t i = 0; i < rows.size() && i < 5; ++i)
    out << "  " << std::left << std::setw(40) << rows[i].name << std::right << " max |a-b| " << rows[i].max_abs
        << "  relative " << rows[i].relative << "\n";
  return 0;
}

}  // namespace

int cmd_inspect(const args& argv) {
  command_line cl;
  cl.name = "inspect";
  cl.usage = "attn inspect [options] -m CKPT    (or: attn inspect CKPT)";
  std::string path, positional_path, other_path, base_override;
  bool json = false;
  cl.options.add_options()("model,m", po::value(&path), "checkpoint to describe (as -m everywhere else)")(
      "checkpoint", po::value(&positional_path), "the same, as a positional argument")(
      "json", po::bool_switch(&json), "print one JSON object with the same content")(
      "base", po::value(&base_override),
      "a LoRA adapter's base: check that it is the one the adapter was trained on (default: not checked)")(
      "compare", po::value(&other_path),
      "instead: how far OTHER's parameters are from CKPT's, tensor by tensor (max |a-b| and that over max |a|)");
  cl.positional.add("checkpoint", 1);
  cl.positional_noun = "the checkpoint";
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (!path.empty() && !positional_path.empty() && path != positional_path)
    throw usage_error("two checkpoints given ('" + path + "' and '" + positional_path + "'): inspect one at a time");
  if (path.empty()) path = positional_path;
  if (path.empty()) throw usage_error("which checkpoint? attn inspect -m CKPT");

  refuse_overwrite({{"-m", path}, {"--compare", other_path}}, {{"", "-"}});  // `attn inspect m.ckpt >> m.ckpt`
  const checkpoint c = load_checkpoint(path);
  if (!other_path.empty()) return print_comparison(path, c, other_path, load_checkpoint(other_path), json);
  auto meta = [&](const char* key) {
    auto it = c.metadata.find(key);
    return it == c.metadata.end() ? std::string("?") : it->second;
  };
  auto family_it = c.model_config.find("family");
  const std::string family = family_it == c.model_config.end() ? std::string("?") : family_it->second;

  struct vocab_summary {
    std::string role, kind;
    std::size_t tokens, merges;
  };
  std::vector<vocab_summary> vocabularies;
  for (const auto& [role, text] : c.vocabularies) {
    std::istringstream in(text);
    const vocab v = read_vocab(in, path + " (" + role + " vocabulary)");
    vocabularies.push_back({role, kind_name(v.kind), v.size(), v.merges.size()});
  }

  std::size_t total = 0, trainable = 0;
  std::vector<std::pair<std::string, std::size_t>> modules;  // in creation order
  std::map<std::string, std::size_t> where;
  for (const auto& p : c.params) {
    total += p.value.size();
    if (p.trainable) trainable += p.value.size();
    const std::string m = parameter_module(p.name);
    auto it = where.find(m);
    if (it == where.end()) {
      where[m] = modules.size();
      modules.emplace_back(m, 0);
    }
    modules[where[m]].second += p.value.size();
  }

  // A LoRA adapter (models/lora.h): its options, its base, and how many values the adapters hold.
  const std::optional<lora_reference> adapter = read_lora_reference(c, path);
  std::size_t adapter_values = 0;
  for (const auto& p : c.params)
    if (is_lora_parameter(p.name)) adapter_values += p.value.size();
  if (!base_override.empty()) {
    if (!adapter) throw attn::error("--base " + base_override + ": '" + path + "' is not a LoRA adapter");
    std::string used;
    load_lora_base(*adapter, path, base_override, used);  // throws when it is not the base
  }

  std::ostream& out = std::cout;
  if (json) {  // the same content as the text form, as one object
    nlohmann::ordered_json j;
    j["checkpoint"] = path;
    j["format"] = checkpoint_format;
    j["family"] = family;
    j["config"] = c.model_config;
    j["vocabularies"] = nlohmann::ordered_json::object();
    for (const auto& v : vocabularies)
      j["vocabularies"][v.role] = {{"kind", v.kind}, {"tokens", v.tokens}, {"merges", v.merges}};
    j["parameters"] = {{"total", total}, {"trainable", trainable}, {"tensors", c.params.size()}};
    j["parameters"]["modules"] = nlohmann::ordered_json::array();
    for (const auto& [m, n] : modules) j["parameters"]["modules"].push_back({{"name", m}, {"parameters", n}});
    if (adapter)
      j["lora"] = {{"rank", adapter->options.rank},         {"alpha", adapter->options.alpha},
                   {"targets", adapter->options.targets},   {"train_bias", adapter->options.train_bias},
                   {"dropout", adapter->options.dropout},   {"base", adapter->base_path},
                   {"base_hash", adapter->base_hash},       {"adapter_parameters", adapter_values},
                   {"base_checked", !base_override.empty()}};
    j["counters"] = c.counters;
    j["metadata"] = c.metadata;
    j["training_config"] = c.train_config;
    j["optimizer_state"] = {{"tensors", c.optimizer.tensors.size()}, {"scalars", c.optimizer.scalars.size()}};
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }

  out << "checkpoint: " << path << " (format " << checkpoint_format << ", attn " << meta("attn_version") << ", written "
      << meta("written_at") << ")\n";
  out << "model: " << family << "\n";
  print_map(out, "config", c.model_config);
  if (!vocabularies.empty()) {
    out << "vocabularies:\n";
    for (const auto& v : vocabularies) {
      out << "  " << v.role << ": " << v.kind << ", " << v.tokens << " tokens";
      if (v.merges) out << ", " << v.merges << " merges";
      out << "\n";
    }
  }
  out << "parameters: " << format_count(total) << " (" << format_count(trainable) << " trainable) in "
      << c.params.size() << " tensors\n";
  for (const auto& [m, n] : modules)
    out << "  " << std::left << std::setw(32) << m << std::right << std::setw(14) << format_count(n) << "\n";

  if (adapter) {
    std::string targets;
    for (const auto& t : adapter->options.targets) targets += (targets.empty() ? "" : " ") + t;
    out << "LoRA adapter: rank " << adapter->options.rank << ", alpha " << adapter->options.alpha << " (scale "
        << adapter->options.alpha / static_cast<float>(adapter->options.rank) << "), targets " << targets
        << (adapter->options.train_bias ? ", biases and norms trained" : "");
    if (adapter->options.dropout > 0) out << ", dropout " << adapter->options.dropout;
    out << "\n";
    out << "  adapter parameters: " << format_count(adapter_values) << "\n";
    out << "  base: " << adapter->base_path << " (parameter hash " << adapter->base_hash << ")"
        << (base_override.empty() ? "" : ", checked against " + base_override) << "\n";
  }
  if (!c.counters.empty()) {
    out << "progress:\n";
    for (const auto& [k, v] : c.counters) out << "  " << k << " = " << v << "\n";
  }
  for (const char* key : {"best_valid", "best_valid_step", "last_valid", "finetuned_from", "finetuned_from_step",
                          "vocab_remapped", "merged_from", "merged_base", "merged_base_hash"}) {
    auto it = c.metadata.find(key);
    if (it != c.metadata.end()) out << key << ": " << it->second << "\n";
  }
  print_map(out, "training config", c.train_config);
  if (!c.optimizer.tensors.empty() || !c.optimizer.scalars.empty())
    out << "optimizer state: " << c.optimizer.tensors.size() << " tensors, " << c.optimizer.scalars.size()
        << " scalars\n";
  return 0;
}

}  // namespace attn::cli
