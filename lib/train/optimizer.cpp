#include "train/optimizer.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <type_traits>
// GCC 12 flags _mm512_undefined_ps() inside the AVX-512 sqrt/max intrinsics as (maybe-)
// uninitialized (-Wuninitialized under the sanitizers): a known false positive (see
// core/kernels.cpp), silenced for this file.
#ifndef __clang__  // a g++ warning only
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <xsimd/xsimd.hpp>

#include "core/error.h"
#include "core/threads.h"
#include "core/text_codec.h"
#include "train/settings.h"

namespace attn {

// One parameter's update: n scalars of weights w, gradient g, and the kind's slots s[k].
struct optimizer_update {
  const optimizer_config& c;
  float lr;
  std::int64_t t;  // updates applied to this parameter, this one included (1 on the first)
  bool decay;      // parameter::decay: weight decay applies
  std::size_t n;
  float* w;
  const float* g;
  float* const* s;
};

struct optimizer_kind {
  const char* name;
  const char* summary;
  std::vector<std::string> (*slots)(const optimizer_config&);
  void (*check)(const optimizer_config&);
  void (*update)(const optimizer_update&);
};

namespace {

void require(bool ok, const char* what) {
  if (!ok) throw error(std::string("optimizer: ") + what);
}

// ---- lanes ----------------------------------------------------------------------------------
// The updates are written once, generic over T = float or an xsimd batch, and run over whole
// batches and then a scalar tail. (Plain loops calling std::sqrt do not vectorise: errno.)
using batch = xsimd::batch<float>;

template <class T>
T load(const float* p) {
  if constexpr (std::is_same_v<T, float>) return *p;
  else return batch::load_unaligned(p);
}
inline void store(float* p, float x) { *p = x; }
inline void store(float* p, const batch& x) { x.store_unaligned(p); }
inline float root(float x) { return std::sqrt(x); }
inline batch root(const batch& x) { return xsimd::sqrt(x); }
inline float max0(float x) { return std::max(x, 0.0f); }
inline batch max0(const batch& x) { return xsimd::max(x, batch(0.0f)); }

// Elements per thread's share of a step's updates, at least: the update streams ~7 floats an
// element, so smaller shares cost more in waking a thread than they save.
constexpr std::size_t update_grain = 1 << 15;

template <class F>
void for_each_lane(std::size_t n, F&& body) {
  std::size_t i = 0;
  for (; i + batch::size <= n; i += batch::size) body(batch(), i);
  for (; i < n; ++i) body(0.0f, i);
}

void check_common(const optimizer_config& c) {
  require(std::isfinite(c.weight_decay) && c.weight_decay >= 0.0f, "weight decay must be >= 0");
  require(std::isfinite(c.eps) && c.eps >= 0.0f, "eps must be >= 0");
}

// ---- SGD -----------------------------------------------------------------------------------
// PyTorch torch.optim.SGD:  d = g + wd·w
//   b = d on the parameter's first update, else b = μ·b + (1 − dampening)·d
//   d = d + μ·b (Nesterov) or d = b;   w −= lr·d
std::vector<std::string> sgd_slots(const optimizer_config& c) {
  if (c.momentum == 0.0f) return {};
  return {"momentum_buffer"};
}

void sgd_check(const optimizer_config& c) {
  check_common(c);
  require(std::isfinite(c.momentum) && c.momentum >= 0.0f, "momentum must be >= 0");
  require(std::isfinite(c.dampening), "dampening must be a number");
  require(!c.nesterov || (c.momentum > 0.0f && c.dampening == 0.0f),
          "Nesterov momentum needs momentum > 0 and dampening 0");
}

void sgd_update(const optimizer_update& a) {
  const float lr = a.lr, wd = a.decay ? a.c.weight_decay : 0.0f, mu = a.c.momentum;
  float* w = a.w;
  const float* g = a.g;
  if (mu == 0.0f) {
    for (std::size_t i = 0; i < a.n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
    return;
  }
  float* b = a.s[0];
  const float keep = 1.0f - a.c.dampening;
  const bool first = a.t == 1, nesterov = a.c.nesterov;
  for (std::size_t i = 0; i < a.n; ++i) {
    float d = g[i] + wd * w[i];
    float bi = first ? d : mu * b[i] + keep * d;
    b[i] = bi;
    w[i] -= lr * (nesterov ? d + mu * bi : bi);
  }
}

// ---- RMSprop -------------------------------------------------------------------------------
// PyTorch torch.optim.RMSprop:  d = g + wd·w;  v = α·v + (1 − α)·d²
//   centered: a = a + (1 − α)(d − a), den = sqrt(v − a²) + eps;  else den = sqrt(v) + eps
//   (eps outside the root, as PyTorch; TensorFlow puts it inside)
//   momentum: b = μ·b + d/den, w −= lr·b;  else w −= lr·d/den
std::vector<std::string> rmsprop_slots(const optimizer_config& c) {
  std::vector<std::string> s{"square_avg"};
  if (c.momentum > 0.0f) s.push_back("momentum_buffer");
  if (c.centered) s.push_back("grad_avg");
  return s;
}

void rmsprop_check(const optimizer_config& c) {
  check_common(c);
  require(std::isfinite(c.alpha) && c.alpha >= 0.0f && c.alpha <= 1.0f, "alpha must be in [0, 1]");
  require(std::isfinite(c.momentum) && c.momentum >= 0.0f, "momentum must be >= 0");
}

// Templated on which optional slots exist, so the loop body has no branches.
template <bool Momentum, bool Centered>
void rmsprop_loop(const optimizer_update& a) {
  const float lr = a.lr, wd = a.decay ? a.c.weight_decay : 0.0f, alpha = a.c.alpha, eps = a.c.eps;
  const float mu = a.c.momentum;
  float* w = a.w;
  const float* g = a.g;
  float* v = a.s[0];
  float* b = Momentum ? a.s[1] : nullptr;
  float* avg = Centered ? a.s[Momentum ? 2 : 1] : nullptr;
  for_each_lane(a.n, [&](auto lane, std::size_t i) {
    using T = decltype(lane);
    T wi = load<T>(w + i);
    T d = load<T>(g + i) + wd * wi;
    T vi = alpha * load<T>(v + i) + (1.0f - alpha) * d * d;
    store(v + i, vi);
    T den;
    if constexpr (Centered) {
      T ai = load<T>(avg + i);
      ai = ai + (1.0f - alpha) * (d - ai);
      store(avg + i, ai);
      den = root(max0(vi - ai * ai)) + eps;  // max0: rounding can dip below 0
    } else {
      den = root(vi) + eps;
    }
    if constexpr (Momentum) {
      T bi = mu * load<T>(b + i) + d / den;
      store(b + i, bi);
      store(w + i, wi - lr * bi);
    } else {
      store(w + i, wi - lr * (d / den));
    }
  });
}

void rmsprop_update(const optimizer_update& a) {
  const bool momentum = a.c.momentum > 0.0f;
  if (momentum && a.c.centered) rmsprop_loop<true, true>(a);
  else if (momentum) rmsprop_loop<true, false>(a);
  else if (a.c.centered) rmsprop_loop<false, true>(a);
  else rmsprop_loop<false, false>(a);
}

// ---- Adam / AdamW --------------------------------------------------------------------------
// PyTorch torch.optim.Adam / AdamW (amsgrad off):
//   AdamW: w ← w·(1 − lr·wd) first;  Adam: d = g + wd·w instead
//   m = m + (1 − β1)(d − m);  v = β2·v + (1 − β2)·d²
//   w −= (lr / (1 − β1ᵗ)) · m / (sqrt(v) / sqrt(1 − β2ᵗ) + eps)
std::vector<std::string> adam_slots(const optimizer_config&) { return {"exp_avg", "exp_avg_sq"}; }

void adam_check(const optimizer_config& c) {
  check_common(c);
  require(std::isfinite(c.beta1) && c.beta1 >= 0.0f && c.beta1 < 1.0f, "beta1 must be in [0, 1)");
  require(std::isfinite(c.beta2) && c.beta2 >= 0.0f && c.beta2 < 1.0f, "beta2 must be in [0, 1)");
}

// keep: AdamW's decoupled decay factor (1 for Adam); wd_l2: Adam's L2 weight (0 for AdamW).
void adam_loop(const optimizer_update& a, float keep, float wd_l2) {
  const float b1 = a.c.beta1, b2 = a.c.beta2, eps = a.c.eps;
  // Bias corrections in double, as PyTorch computes them in Python floats.
  const double t = static_cast<double>(a.t);
  const float step_size = static_cast<float>(a.lr / (1.0 - std::pow(static_cast<double>(b1), t)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(b2), t)));
  float* w = a.w;
  const float* g = a.g;
  float* m = a.s[0];
  float* v = a.s[1];
  for_each_lane(a.n, [&](auto lane, std::size_t i) {
    using T = decltype(lane);
    T wi = load<T>(w + i) * keep;
    T d = load<T>(g + i) + wd_l2 * wi;
    T mi = load<T>(m + i);
    mi = mi + (1.0f - b1) * (d - mi);
    T vi = b2 * load<T>(v + i) + (1.0f - b2) * d * d;
    store(m + i, mi);
    store(v + i, vi);
    store(w + i, wi - step_size * (mi / (root(vi) / bc2_sqrt + eps)));
  });
}

void adam_update(const optimizer_update& a) { adam_loop(a, 1.0f, a.decay ? a.c.weight_decay : 0.0f); }

void adamw_update(const optimizer_update& a) {
  const double wd = a.decay ? a.c.weight_decay : 0.0;
  adam_loop(a, static_cast<float>(1.0 - static_cast<double>(a.lr) * wd), 0.0f);
}

const optimizer_kind kinds[] = {
    {"sgd", "stochastic gradient descent, optional (Nesterov) momentum", sgd_slots, sgd_check, sgd_update},
    {"rmsprop", "RMSprop (PyTorch form: eps outside the square root)", rmsprop_slots, rmsprop_check,
     rmsprop_update},
    {"adam", "Adam with bias correction; weight decay as L2 on the gradient", adam_slots, adam_check,
     adam_update},
    {"adamw", "Adam with decoupled weight decay (not on biases and norms)", adam_slots, adam_check,
     adamw_update},
};

const optimizer_kind& find_kind(const std::string& name) {
  for (const auto& k : kinds)
    if (name == k.name) return k;
  std::vector<std::string> known;
  for (const auto& k : kinds) known.push_back(k.name);
  throw error(unknown_name_message("optimizer", name, known));
}

std::string shape_text(const matrix& m) {
  return "[" + std::to_string(rows(m)) + ", " + std::to_string(cols(m)) + "]";
}

// Step counts travel as doubles: whole numbers in [0, 2^53] only.
std::int64_t step_count(const std::string& key, double x) {
  if (!(x >= 0.0 && x <= 9007199254740992.0) || x != std::floor(x))
    throw error("optimizer state '" + key + "' is not a valid step count");
  return static_cast<std::int64_t>(x);
}

}  // namespace

optimizer::optimizer(const optimizer_config& c) : config_(c), kind_(&find_kind(c.kind)) {
  kind_->check(config_);
  slot_names_ = kind_->slots(config_);
}

void optimizer::step(parameter_store& params, float lr) {
  if (!std::isfinite(lr) || lr < 0.0f) throw error("optimizer: learning rate must be a finite number >= 0");
  const std::vector<parameter*> all = params.all();
  // Check every shape first, so that an error leaves all parameters and state as they were.
  for (const parameter* p : all) {
    if (!p->trainable || p->grad.size() == 0) continue;
    if (p->grad.shape() != p->value.shape())
      throw error("gradient of '" + p->name + "' has shape " + shape_text(p->grad) + " but the parameter is " +
                  shape_text(p->value));
    auto it = state_.find(p->name);
    if (it == state_.end()) continue;
    for (const matrix& b : it->second.bufs)
      if (b.shape() != p->value.shape())
        throw error("optimizer state of '" + p->name + "' has shape " + shape_text(b) + " but the parameter is " +
                    shape_text(p->value));
  }
  // The parameters to update, each in whole SIMD batches ("units") numbered across all of
  // them in order: one parallel region splits that numbering evenly, so a thread's share may
  // span many small parameters or part of a large one. Every element is updated by the same
  // instructions whatever the thread count (a parameter's scalar tail stays its last n % W).
  struct work {
    parameter* p;
    slots* s;
    std::size_t first_unit;  // this parameter's units are [first_unit, next's first_unit)
  };
  constexpr std::size_t W = batch::size;
  std::vector<work> todo;
  std::size_t units = 0;
  for (parameter* p : all) {
    if (!p->trainable || p->grad.size() == 0) continue;
    slots& s = state_[p->name];
    if (s.bufs.size() != slot_names_.size()) {  // first update of this parameter: zeroed slots
      s.bufs.assign(slot_names_.size(), matrix::from_shape(p->value.shape()));
      for (auto& b : s.bufs) b.fill(0.0f);
    }
    ++s.step;
    todo.push_back({p, &s, units});
    units += (p->value.size() + W - 1) / W;
  }
  parallel_for(units, update_grain / W, [&](std::size_t b, std::size_t e) {
    // The parameter holding unit b: the last whose first unit is at most b.
    auto it =
        std::upper_bound(todo.begin(), todo.end(), b, [](std::size_t u, const work& x) { return u < x.first_unit; }) -
        1;
    for (; it != todo.end() && it->first_unit < e; ++it) {
      const parameter& p = *it->p;
      const std::size_t n = p.value.size(), own = (n + W - 1) / W;
      const std::size_t ub = std::max(b, it->first_unit) - it->first_unit;
      const std::size_t ue = std::min(e, it->first_unit + own) - it->first_unit;
      const std::size_t lo = ub * W, hi = std::min(n, ue * W);
      float* chunk_bufs[4] = {nullptr, nullptr, nullptr, nullptr};
      for (std::size_t k = 0; k < it->s->bufs.size(); ++k) chunk_bufs[k] = it->s->bufs[k].data() + lo;
      kind_->update(
          {config_, lr, it->s->step, p.decay, hi - lo, it->p->value.data() + lo, p.grad.data() + lo, chunk_bufs});
    }
  });
  ++steps_;
}

optimizer_state optimizer::state() const {
  optimizer_state out;
  const std::string prefix = std::string(kind_->name) + ".";
  for (const auto& [name, s] : state_) {
    out.scalars[prefix + "step/" + name] = static_cast<double>(s.step);
    for (std::size_t k = 0; k < s.bufs.size(); ++k) out.tensors[prefix + slot_names_[k] + "/" + name] = s.bufs[k];
  }
  out.scalars[prefix + "steps"] = static_cast<double>(steps_);
  return out;
}

void optimizer::set_state(const optimizer_state& in) {
  const std::string prefix = std::string(kind_->name) + ".";
  auto strip = [&](const std::string& key) {
    if (key.compare(0, prefix.size(), prefix) != 0)
      throw error("optimizer state '" + key + "' does not belong to a '" + kind_->name + "' optimizer");
    return key.substr(prefix.size());
  };
  std::unordered_map<std::string, slots> next;
  std::int64_t steps = 0;
  std::set<std::string> counted;  // parameters with a step count
  for (const auto& [key, value] : in.scalars) {
    std::string rest = strip(key);
    if (rest == "steps") {
      steps = step_count(key, value);
    } else if (rest.compare(0, 5, "step/") == 0 && rest.size() > 5) {
      std::string name = rest.substr(5);
      next[name].step = step_count(key, value);
      counted.insert(name);
    } else {
      throw error("unknown optimizer state '" + key + "'");
    }
  }
  for (auto& [name, s] : next) s.bufs.resize(slot_names_.size());
  std::set<std::string> present;  // "<slot index>/<name>" seen
  for (const auto& [key, value] : in.tensors) {
    std::string rest = strip(key);
    std::size_t slash = rest.find('/');
    std::size_t k = slot_names_.size();
    if (slash != std::string::npos)
      k = std::find(slot_names_.begin(), slot_names_.end(), rest.substr(0, slash)) - slot_names_.begin();
    if (k == slot_names_.size() || slash + 1 == rest.size())
      throw error("unknown optimizer state '" + key + "' (was the optimizer configured differently?)");
    std::string name = rest.substr(slash + 1);
    if (!counted.count(name)) throw error("optimizer state '" + key + "' has no step count");
    next[name].bufs[k] = value;
    present.insert(std::to_string(k) + "/" + name);
  }
  for (const auto& [name, s] : next)
    for (std::size_t k = 0; k < s.bufs.size(); ++k) {
      if (!present.count(std::to_string(k) + "/" + name))
        throw error("optimizer state lacks '" + prefix + slot_names_[k] + "/" + name +
                    "' (was the optimizer configured differently?)");
      if (s.bufs[k].shape() != s.bufs[0].shape())
        throw error("optimizer state for '" + name + "' has tensors of different shapes");
    }
  state_ = std::move(next);
  steps_ = steps;
}

std::unique_ptr<optimizer> make_optimizer(const optimizer_config& c) { return std::make_unique<optimizer>(c); }

std::vector<std::pair<std::string, std::string>> optimizer_kinds() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : kinds) out.emplace_back(k.name, k.summary);
  return out;
}

std::map<std::string, std::string> optimizer_config_to_map(const optimizer_config& c) { return fields_to_map(c); }

optimizer_config optimizer_config_from_map(const std::map<std::string, std::string>& m) {
  return fields_from_map<optimizer_config>(m, "optimizer");
}

}  // namespace attn
