// Optimizers against PyTorch's update formulas, computed by hand (in float64) for three steps.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/threads.h"
#include "train/optimizer.h"

using namespace attn;

namespace {

// Two parameters: w (decay) and b (decay == false, like a bias); three steps of fixed gradients
// with a changing learning rate.
const std::vector<float> w0 = {1.0f, -2.0f, 0.5f}, b0 = {0.3f, -0.1f};
const std::vector<std::vector<float>> gw = {{0.1f, -0.2f, 0.3f}, {-0.05f, 0.4f, 0.1f}, {0.2f, 0.0f, -0.3f}};
const std::vector<std::vector<float>> gb = {{0.5f, -0.25f}, {0.1f, 0.2f}, {-0.3f, 0.05f}};
const float lrs[3] = {0.1f, 0.05f, 0.02f};

void set_row(matrix& m, const std::vector<float>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) m(0, i) = v[i];
}

parameter_store make_store() {
  parameter_store s;
  set_row(s.add("w", 1, 3).value, w0);
  set_row(s.add("b", 1, 2, /*decay=*/false).value, b0);
  s.zero_grad();
  return s;
}

void set_grads(parameter_store& s, int t) {
  set_row(s.at("w").grad, gw[t]);
  set_row(s.at("b").grad, gb[t]);
}

struct golden {
  const char* name;
  optimizer_config config;
  std::vector<std::pair<std::vector<double>, std::vector<double>>> after;  // (w, b) after each step
};

optimizer_config cfg(const char* kind) {
  optimizer_config c;
  c.kind = kind;
  return c;
}

// Values from a float64 transcription of torch.optim's _single_tensor_sgd / _rmsprop / _adam
// (weight decay only on the decay == true parameter "w").
std::vector<golden> goldens() {
  std::vector<golden> g;
  {
    auto c = cfg("sgd");
    c.weight_decay = 0.1f;
    g.push_back({"sgd, L2", c,
                 {{{0.98, -1.96, 0.465}, {0.25, -0.075}},
                  {{0.9776, -1.9702, 0.457675}, {0.245, -0.085}},
                  {{0.9716448, -1.9662596, 0.46275965}, {0.251, -0.086}}}});
  }
  {
    auto c = cfg("sgd");
    c.momentum = 0.9f, c.dampening = 0.1f, c.weight_decay = 0.1f;
    g.push_back({"sgd, momentum + dampening", c,
                 {{{0.98, -1.96, 0.465}, {0.25, -0.075}},
                  {{0.96884, -1.95118, 0.4426575}, {0.223, -0.07275}},
                  {{0.959478488, -1.944492676, 0.4392174165}, {0.21868, -0.07284}}}});
  }
  {
    auto c = cfg("sgd");
    c.momentum = 0.9f, c.nesterov = true;
    g.push_back({"sgd, Nesterov", c,
                 {{{0.981, -1.962, 0.443}, {0.205, -0.0525}},
                  {{0.9817, -1.9919, 0.42135}, {0.17525, -0.061375}},
                  {{0.973452, -1.995464, 0.426756}, {0.17774, -0.06287}}}});
  }
  g.push_back({"rmsprop, defaults", cfg("rmsprop"),
               {{{9.999990004e-07, -1.0000005, -0.4999996667}, {-0.6999998, 0.8999996}},
                {{0.2245074259, -1.447661881, -0.6588298507}, {-0.7985327084, 0.5866955182}},
                {{0.04955956903, -1.447661881, -0.5204902994}, {-0.6963708369, 0.555590426}}}});
  {
    auto c = cfg("rmsprop");
    c.alpha = 0.9f, c.eps = 1e-3f, c.momentum = 0.5f, c.centered = true, c.weight_decay = 0.1f;
    g.push_back({"rmsprop, centered + momentum + L2, eps outside the root", c,
                 {{{0.6721311475, -1.669421488, 0.1698113208}, {-0.03112582781, 0.2289473684}},
                  {{0.5753063776, -1.669274401, 0.03080772621}, {-0.1486076072, 0.2102508049}},
                  {{0.4990151288, -1.645712509, 0.04482157785}, {-0.1375296273, 0.1960255721}}}});
  }
  {
    auto c = cfg("adam");
    c.weight_decay = 0.1f;
    g.push_back({"adam, L2", c,
                 {{{0.900000005, -1.900000002, 0.4000000029}, {0.200000002, -3.999999831e-09}},
                  {{0.8598479588, -1.887641586, 0.3550712443}, {0.1598479542, 0.002906248237}},
                  {{0.8422385736, -1.879186853, 0.3510455695}, {0.1556336953, 0.001821113815}}}});
  }
  {
    auto c = cfg("adamw");
    c.weight_decay = 0.1f, c.eps = 1e-3f;
    g.push_back({"adamw, decoupled decay", c,
                 {{{0.890990099, -1.880497512, 0.3953322259}, {0.2001996008, -0.0003984063745}},
                  {{0.8733846634, -1.889342506, 0.3499963145}, {0.1601586312, 0.002495064074}},
                  {{0.8585743847, -1.891201964, 0.3483324126}, {0.155956677, 0.001415700685}}}});
  }
  return g;
}

void check_row(const matrix& m, const std::vector<double>& want) {
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK_MESSAGE(std::fabs(m(0, i) - want[i]) <= 2e-6 * std::max(1.0, std::fabs(want[i])),
                  "element " << i << ": got " << m(0, i) << ", want " << want[i]);
}

bool bit_equal(const matrix& a, const matrix& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("optimizers follow PyTorch's formulas for three steps") {
  for (const auto& g : goldens()) {
    std::string name = g.name;
    CAPTURE(name);
    parameter_store s = make_store();
    auto opt = make_optimizer(g.config);
    for (int t = 0; t < 3; ++t) {
      CAPTURE(t);
      set_grads(s, t);
      opt->step(s, lrs[t]);
      check_row(s.at("w").value, g.after[t].first);
      check_row(s.at("b").value, g.after[t].second);
    }
    CHECK(opt->steps() == 3);
  }
}

TEST_CASE("Adam's first step moves every weight by lr against the gradient's sign") {
  // m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) ≈ lr·sign(g).
  parameter_store s = make_store();
  set_grads(s, 0);
  optimizer_config c = cfg("adam");
  make_optimizer(c)->step(s, 0.01f);
  for (std::size_t i = 0; i < 3; ++i) CHECK(s.at("w").value(0, i) == doctest::Approx(w0[i] - 0.01f * (gw[0][i] > 0 ? 1 : -1)).epsilon(1e-6));
}

TEST_CASE("AdamW decays only parameters with decay == true") {
  parameter_store s = make_store();  // zero gradients: the Adam part moves nothing
  optimizer_config c = cfg("adamw");
  c.weight_decay = 0.5f;
  auto opt = make_optimizer(c);
  opt->step(s, 0.1f);
  for (std::size_t i = 0; i < 3; ++i) CHECK(s.at("w").value(0, i) == doctest::Approx(w0[i] * (1.0 - 0.1 * 0.5)).epsilon(1e-7));
  for (std::size_t i = 0; i < 2; ++i) CHECK(s.at("b").value(0, i) == b0[i]);
}

TEST_CASE("frozen parameters and parameters without gradient are left alone") {
  for (const char* kind : {"sgd", "rmsprop", "adam", "adamw"}) {
    CAPTURE(kind);
    parameter_store s = make_store();
    set_grads(s, 0);
    s.at("w").trainable = false;
    parameter& e = s.add("no_grad", 2, 2);  // grad never allocated: skipped like grad == None
    e.value.fill(1.0f);
    optimizer_config c = cfg(kind);
    c.weight_decay = 0.1f;
    c.momentum = 0.9f;
    auto opt = make_optimizer(c);
    opt->step(s, 0.1f);
    for (std::size_t i = 0; i < 3; ++i) CHECK(s.at("w").value(0, i) == w0[i]);
    CHECK(s.at("no_grad").value(1, 1) == 1.0f);
    CHECK(s.at("b").value(0, 0) != b0[0]);
    for (const auto& [key, v] : opt->state().scalars) {
      CHECK(key.find("/w") == std::string::npos);
      CHECK(key.find("no_grad") == std::string::npos);
    }
  }
}

TEST_CASE("state saved and restored gives bit-identical next updates") {
  for (const auto& g : goldens()) {
    std::string name = g.name;
    CAPTURE(name);
    parameter_store a = make_store(), b = make_store();
    auto opt_a = make_optimizer(g.config);
    for (int t = 0; t < 2; ++t) {
      set_grads(a, t);
      opt_a->step(a, lrs[t]);
    }
    // b: a fresh optimizer and store, loaded from a's state and values.
    b.at("w").value = a.at("w").value;
    b.at("b").value = a.at("b").value;
    auto opt_b = make_optimizer(g.config);
    opt_b->set_state(opt_a->state());
    CHECK(opt_b->steps() == 2);
    set_grads(a, 2);
    set_grads(b, 2);
    opt_a->step(a, lrs[2]);
    opt_b->step(b, lrs[2]);
    CHECK(bit_equal(a.at("w").value, b.at("w").value));
    CHECK(bit_equal(a.at("b").value, b.at("b").value));
  }
}

TEST_CASE("state is keyed by parameter name; a parameter added later starts its own count") {
  parameter_store s = make_store();
  auto opt = make_optimizer(cfg("adamw"));
  for (int t = 0; t < 2; ++t) {
    set_grads(s, t);
    opt->step(s, 0.1f);
  }
  parameter& lora = s.add("lora.a", 1, 2);
  lora.grad = matrix::from_shape({1, 2});
  lora.grad(0, 0) = 0.5f, lora.grad(0, 1) = -2.0f;
  opt->step(s, 0.01f);
  // First update of lora.a: bias-corrected, so it moves by lr·sign(g) whatever the global step.
  CHECK(lora.value(0, 0) == doctest::Approx(-0.01).epsilon(1e-5));
  CHECK(lora.value(0, 1) == doctest::Approx(0.01).epsilon(1e-5));
  optimizer_state st = opt->state();
  CHECK(st.scalars.at("adamw.step/lora.a") == 1.0);
  CHECK(st.scalars.at("adamw.step/w") == 3.0);
  CHECK(st.scalars.at("adamw.steps") == 3.0);
  CHECK(st.tensors.count("adamw.exp_avg/lora.a") == 1);
  CHECK(st.tensors.count("adamw.exp_avg_sq/w") == 1);
}

TEST_CASE("bad state and bad settings are reported") {
  parameter_store s = make_store();
  set_grads(s, 0);
  auto adam = make_optimizer(cfg("adam"));
  adam->step(s, 0.1f);
  optimizer_state st = adam->state();

  auto sgd = make_optimizer(cfg("sgd"));
  CHECK_THROWS_WITH_AS(sgd->set_state(st), doctest::Contains("does not belong to a 'sgd' optimizer"), error);

  auto other = make_optimizer(cfg("adam"));
  optimizer_state missing = st;
  missing.tensors.erase("adam.exp_avg_sq/w");
  CHECK_THROWS_WITH_AS(other->set_state(missing), doctest::Contains("lacks 'adam.exp_avg_sq/w'"), error);
  optimizer_state bad_count = st;
  bad_count.scalars["adam.step/w"] = 1.5;
  CHECK_THROWS_AS(other->set_state(bad_count), error);
  other->set_state(st);  // and the good one loads

  // A state tensor whose shape no longer matches its parameter is caught at the next step.
  optimizer_state reshaped = st;
  reshaped.tensors["adam.exp_avg/w"] = matrix::from_shape({3, 1});
  reshaped.tensors["adam.exp_avg_sq/w"] = matrix::from_shape({3, 1});
  other->set_state(reshaped);
  CHECK_THROWS_WITH_AS(other->step(s, 0.1f), doctest::Contains("optimizer state of 'w' has shape [3, 1]"), error);

  // A bad gradient anywhere stops the step before any parameter moves.
  const matrix w_before = s.at("w").value;
  s.at("b").grad = matrix::from_shape({2, 2});
  CHECK_THROWS_WITH_AS(adam->step(s, 0.1f), "gradient of 'b' has shape [2, 2] but the parameter is [1, 2]", error);
  CHECK(bit_equal(s.at("w").value, w_before));
  CHECK(adam->steps() == 1);
  s.zero_grad();
  CHECK_THROWS_AS(adam->step(s, -1.0f), error);
  CHECK_THROWS_AS(adam->step(s, NAN), error);

  CHECK_THROWS_WITH_AS(make_optimizer(cfg("adagrad")), doctest::Contains("known: sgd, rmsprop, adam, adamw"), error);
  optimizer_config n = cfg("sgd");
  n.nesterov = true;
  CHECK_THROWS_WITH_AS(make_optimizer(n), doctest::Contains("Nesterov"), error);
  optimizer_config b = cfg("adam");
  b.beta2 = 1.0f;
  CHECK_THROWS_AS(make_optimizer(b), error);
}

TEST_CASE("optimizer settings survive a trip through text, bit for bit") {
  optimizer_config c = cfg("rmsprop");
  c.eps = 1.0f / 3.0f, c.alpha = 0.987654321f, c.momentum = 0.1f, c.centered = true, c.weight_decay = 3e-7f;
  optimizer_config r = optimizer_config_from_map(optimizer_config_to_map(c));
  CHECK(r.kind == c.kind);
  CHECK(r.eps == c.eps);
  CHECK(r.alpha == c.alpha);
  CHECK(r.momentum == c.momentum);
  CHECK(r.weight_decay == c.weight_decay);
  CHECK(r.centered);
  CHECK_FALSE(r.nesterov);
  CHECK_THROWS_WITH_AS(optimizer_config_from_map({{"beta3", "1"}}), doctest::Contains("beta3"), error);
  CHECK_THROWS_WITH_AS(optimizer_config_from_map({{"eps", "x1"}}), doctest::Contains("eps"), error);
  CHECK(optimizer_kinds().size() == 4);
}

TEST_CASE("an update split over threads is bit-identical to one thread's, for every optimizer") {
  // One step updates every parameter in one parallel region, its share boundaries falling
  // anywhere: inside a large parameter, between small ones. Sizes: several threads' shares,
  // scalar tails that are not whole SIMD batches, parameters smaller than one batch, a frozen
  // one and one without decay among them.
  struct spec {
    const char* name;
    std::size_t n;
    bool trainable, decay;
  };
  const std::vector<spec> specs = {{"a", 100003, true, true}, {"b", 7, true, false}, {"frozen", 40000, false, true},
                                   {"c", 256, true, true},    {"d", 33, true, true}, {"e", 70001, true, false},
                                   {"f", 1, true, true}};
  // Three steps on the parameters of `only` (all when empty), each in its own store or all together.
  auto run = [&](const optimizer_config& c, int threads, const std::vector<spec>& only) {
    set_threads(threads);
    parameter_store s;
    for (const spec& p : only) {
      parameter& x = s.add(p.name, 1, p.n, p.decay);
      x.trainable = p.trainable;
      rng gen(p.n);
      for (std::size_t i = 0; i < p.n; ++i) x.value(0, i) = gen.normal();
    }
    auto opt = make_optimizer(c);
    for (int t = 0; t < 3; ++t) {
      s.zero_grad();
      for (const spec& p : only) {
        if (!p.trainable) continue;
        rng gen(p.n * 10 + t);
        for (std::size_t i = 0; i < p.n; ++i) s.at(p.name).grad(0, i) = gen.normal();
      }
      opt->step(s, 0.01f);
    }
    set_threads(1);
    std::map<std::string, matrix> out;
    for (const spec& p : only) out[p.name] = s.at(p.name).value;
    return out;
  };
  for (const auto& g : goldens()) {
    std::string name = g.name;
    CAPTURE(name);
    optimizer_config c = g.config;
    c.weight_decay = 0.1f;
    const auto one = run(c, 1, specs), two = run(c, 2, specs);
    for (const spec& p : specs) {
      CAPTURE(p.name);
      CHECK(bit_equal(one.at(p.name), two.at(p.name)));
      // Each parameter's update is its own: the same as in a store of its own.
      CHECK(bit_equal(two.at(p.name), run(c, 2, {p}).at(p.name)));
    }
  }
}
