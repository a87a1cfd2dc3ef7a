#include "models/lora.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/blas.h"
#include "core/error.h"
#include "core/init.h"
#include "core/name_pattern.h"
#include "core/text_codec.h"

namespace attn {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "layers.0.attn.qkv.weight" -> "layers.0.attn.qkv"
std::string layer_of(const std::string& weight) {
  return ends_with(weight, ".weight") ? weight.substr(0, weight.size() - 7) : weight;
}

bool selected(const std::vector<std::string>& patterns, const std::string& name) {
  for (const auto& p : patterns)
    if (name_pattern_matches(p, name)) return true;
  return false;
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace

std::vector<std::string> default_lora_targets() {
  return {"*attn.qkv", "*attn.q", "*attn.kv", "*attn.out", "attention.keys", "attention.query"};
}

bool is_lora_parameter(const std::string& name) { return ends_with(name, ".lora_a") || ends_with(name, ".lora_b"); }

namespace {

// The weights of `store` that opt's targets select and attach_lora adapts (throws lora_conflict
// as attach_lora documents).
std::vector<const parameter*> chosen_weights(const parameter_store& store, const lora_options& opt) {
  if (opt.rank == 0) throw error("--lora must be at least 1");
  if (!(opt.dropout >= 0.0f && opt.dropout < 1.0f)) throw error("--lora-dropout must be in [0, 1)");
  const std::vector<std::string> targets = opt.targets.empty() ? default_lora_targets() : opt.targets;
  std::vector<const parameter*> chosen;
  for (const parameter* p : store.all()) {
    if (!selected(targets, p->name)) continue;
    if (p->adaptable && p->lora_folded && opt.dropout > 0.0f)
      throw lora_conflict("--lora-dropout: --lora-targets selects the LSTM weight " + p->name +
                          ", whose adapter is folded into the weight and has no input to drop out; "
                          "leave --lora-dropout out or name targets without the LSTM's w_ih/w_hh");
    if (p->adaptable && !p->lora_a) chosen.push_back(p);
  }
  if (chosen.empty())
    throw lora_conflict("--lora-targets " + join(targets) +
                        " selects no linear layer or LSTM weight of the model (attn inspect lists them)");
  return chosen;
}

}  // namespace

std::vector<lora_target> lora_targets(const parameter_store& store, const lora_options& opt) {
  std::vector<lora_target> out;
  for (const parameter* p : chosen_weights(store, opt))
    out.push_back({p->name, p->value.shape()[0], p->value.shape()[1], p->lora_folded});
  return out;
}

void check_lora_rank(const std::vector<lora_target>& weights, std::size_t rank) {
  const lora_target* narrowest = nullptr;
  for (const lora_target& w : weights)
    if (!narrowest || std::min(w.in, w.out) < std::min(narrowest->in, narrowest->out)) narrowest = &w;
  if (!narrowest) return;
  const std::size_t most = std::min(narrowest->in, narrowest->out);
  if (rank > most)
    throw lora_conflict("--lora " + std::to_string(rank) + " is above the rank an adapter of " + narrowest->name +
                        " [" + std::to_string(narrowest->in) + ", " + std::to_string(narrowest->out) +
                        "] can have (A·B has rank at most its smaller side, " + std::to_string(most) +
                        "); use --lora " + std::to_string(most) + " or less, or --lora-targets without it");
}

double lora_floats_per_token(const lora_target& w, std::size_t rank) {
  return w.folded ? 0.0 : 3.0 * static_cast<double>(rank);  // x·A [N, R], its gradient, slack
}

double lora_floats_per_step(const lora_target& w) {
  return w.folded ? 3.0 * static_cast<double>(w.in) * static_cast<double>(w.out) : 0.0;  // W + s·A·B, its gradient, A·B
}

lora_attachment attach_lora(parameter_store& store, const lora_options& opt, rng& gen) {
  const std::vector<const parameter*> selected_weights = chosen_weights(store, opt);
  std::vector<parameter*> chosen;
  for (parameter* p : store.all()) {
    p->trainable = false;
    if (std::find(selected_weights.begin(), selected_weights.end(), p) != selected_weights.end()) chosen.push_back(p);
  }
  lora_attachment r;
  const float scale = (opt.alpha > 0 ? opt.alpha : static_cast<float>(opt.rank)) / static_cast<float>(opt.rank);
  for (parameter* w : chosen) {
    const std::size_t in = w->value.shape()[0], out = w->value.shape()[1];
    const std::string prefix = layer_of(w->name);
    parameter& a = store.add(prefix + ".lora_a", in, opt.rank);  // [in, R]
    init_normal(a.value, gen, 1.0f / std::sqrt(static_cast<float>(in)));
    parameter& b = store.add(prefix + ".lora_b", opt.rank, out);  // [R, out], zero: the base's output
    w->lora_a = &a;
    w->lora_b = &b;
    w->lora_scale = scale;
    w->lora_dropout = opt.dropout;
    ++r.adapters;
    r.folded += w->lora_folded;
    r.adapter_values += a.value.size() + b.value.size();
  }
  if (opt.train_bias)
    for (parameter* p : store.all())
      if (!is_lora_parameter(p->name) && (ends_with(p->name, ".bias") || ends_with(p->name, ".gain")))
        p->trainable = true;
  for (const parameter* p : store.all())
    if (p->trainable) r.trainable_values += p->value.size();
  return r;
}

std::size_t merge_lora(parameter_store& store) {
  std::size_t n = 0;
  for (parameter* w : store.all()) {
    if (!w->lora_a) continue;
    const std::size_t in = w->value.shape()[0], out = w->value.shape()[1], rank = w->lora_a->value.shape()[1];
    // W [in, out] += scale · A [in, R] · B [R, out]
    gemm(false, false, in, out, rank, w->lora_scale, w->lora_a->value.data(), rank, w->lora_b->value.data(), out,
         1.0f, w->value.data(), out);
    w->lora_a = w->lora_b = nullptr;
    w->lora_scale = w->lora_dropout = 0.0f;
    ++n;
  }
  return n;
}

std::vector<checkpoint_param> adapter_parameters(const parameter_store& store) {
  std::vector<checkpoint_param> out;
  for (const checkpoint_param& p : export_parameters(store))
    if (p.trainable) out.push_back(p);
  return out;
}

std::vector<checkpoint_param> base_parameters(const parameter_store& store) {
  std::vector<checkpoint_param> out;
  for (checkpoint_param& p : export_parameters(store))
    if (!is_lora_parameter(p.name)) {
      p.trainable = true;
      out.push_back(std::move(p));
    }
  return out;
}

std::string parameters_hash(const std::vector<checkpoint_param>& params) {
  std::uint64_t h = 14695981039346656037ull;
  auto feed = [&h](const void* data, std::size_t bytes) {
    const auto* b = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  };
  for (const checkpoint_param& p : params) {
    feed(p.name.data(), p.name.size() + 1);
    const std::uint64_t shape[2] = {p.value.shape()[0], p.value.shape()[1]};
    feed(shape, sizeof shape);
    feed(p.value.data(), p.value.size() * sizeof(float));
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

void write_lora_reference(const lora_reference& r, checkpoint& c) {
  c.metadata["lora_rank"] = std::to_string(r.options.rank);
  std::ostringstream alpha;
  alpha.precision(9);
  alpha << r.options.alpha;
  c.metadata["lora_alpha"] = alpha.str();
  c.metadata["lora_targets"] = join(r.options.targets.empty() ? default_lora_targets() : r.options.targets);
  c.metadata["lora_train_bias"] = r.options.train_bias ? "true" : "false";
  std::ostringstream dropout;
  dropout.precision(9);
  dropout << r.options.dropout;
  c.metadata["lora_dropout"] = dropout.str();
  c.metadata["lora_base"] = r.base_path;
  c.metadata["lora_base_hash"] = r.base_hash;
}

std::optional<lora_reference> read_lora_reference(const checkpoint& c, const std::string& name) {
  if (!c.metadata.count("lora_base_hash")) return std::nullopt;
  auto field = [&](const std::string& key) {
    const auto it = c.metadata.find(key);
    if (it == c.metadata.end()) throw error("'" + name + "': an adapter checkpoint without metadata " + key);
    return it->second;
  };
  lora_reference r;
  const auto rank = read_int(field("lora_rank"));
  if (!rank || *rank < 1 || *rank > 1 << 20) throw error("'" + name + "': lora_rank is not a rank: " + field("lora_rank"));
  r.options.rank = static_cast<std::size_t>(*rank);
  // read_float takes the whole text: std::stof would stop at anything after a number (a NUL too).
  const auto alpha = read_float(field("lora_alpha"));
  if (!alpha) throw error("'" + name + "': lora_alpha is not a number: " + field("lora_alpha"));
  r.options.alpha = *alpha;
  std::istringstream words(field("lora_targets"));
  for (std::string w; words >> w;) r.options.targets.push_back(w);
  r.options.train_bias = field("lora_train_bias") == "true";
  if (c.metadata.count("lora_dropout")) {  // adapters written before --lora-dropout have none: 0
    const std::string& d = c.metadata.at("lora_dropout");
    const auto dropout = read_float(d);
    if (!dropout || !(*dropout >= 0.0f && *dropout < 1.0f))
      throw error("'" + name + "': lora_dropout is not a probability in [0, 1): " + d);
    r.options.dropout = *dropout;
  }
  r.base_path = field("lora_base");
  r.base_hash = field("lora_base_hash");
  return r;
}

std::string stored_base_path(const lora_reference& r, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path stored(r.base_path), beside = fs::path(name).parent_path() / stored;
  std::error_code ec;
  if (r.base_path.empty() || stored.is_absolute() || beside == stored || fs::exists(stored, ec) ||
      !fs::exists(beside, ec))
    return r.base_path;
  return beside.string();
}

namespace {

// The base the adapter names, read from `path` (stored_base_path). Its errors say where the path
// came from and how to give another: "adapter 'v8/ad.ckpt': its base 'base.ckpt' (the path given
// to finetune -m) cannot be opened: No such file or directory; give the base with --base".
checkpoint load_stored_base(const lora_reference& r, const std::string& name, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool looked_beside = path == r.base_path && fs::path(r.base_path).is_relative() &&
                             !fs::path(name).parent_path().empty() && !fs::exists(r.base_path, ec);
  const std::string base = "adapter '" + name + "': its base '" + r.base_path + "' (the path given to finetune -m)" +
                           (path != r.base_path ? ", found as '" + path + "'," : "");
  const std::string fix = "; give the base with --base";
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
  } else {
    throw error(base + " cannot be opened" +
                (looked_beside ? " from the current directory or next to the adapter" : "") + ": " +
                std::strerror(errno) + fix);
  }
  try {
    return load_checkpoint(path);
  } catch (const error& e) {
    throw error(base + " cannot be used: " + e.what() + fix);
  }
}

}  // namespace

checkpoint load_lora_base(const lora_reference& r, const std::string& name, const std::string& base_override,
                          std::string& path) {
  path = base_override.empty() ? stored_base_path(r, name) : base_override;
  checkpoint base = base_override.empty() ? load_stored_base(r, name, path) : load_checkpoint(path);
  if (base.metadata.count("lora_base_hash"))
    throw error("'" + path + "' is itself an adapter, not the base of '" + name + "'");
  const std::string hash = parameters_hash(base.params);
  if (hash != r.base_hash)
    throw error("'" + path + "' is not the base of adapter '" + name + "' (its parameters hash to " + hash +
                ", the adapter was trained on " + r.base_hash + "); give the right one with --base");
  return base;
}

}  // namespace attn
