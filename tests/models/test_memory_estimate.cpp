// Memory estimates: the parameter count from model_config arithmetic equals the real store's for
// every family and variant; configurations too big for the machine are refused before anything
// is allocated, from options and from checkpoints; a checkpoint holding NaN is refused.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "models/memory_estimate.h"
#include "models/model.h"

using namespace attn;

namespace {

model_config base_config(const std::string& family) {
  model_config c;
  c.family = family;
  c.layers = 2;
  c.d_model = 8;
  c.heads = 2;
  c.ff = 12;
  c.embed = 6;
  c.hidden = 10;
  c.max_len = 17;
  c.src_vocab = 11;
  c.tgt_vocab = family == "transformer" || family == "rnn" ? 13 : 11;
  c.num_classes = 3;
  return c;
}

// Every variant that changes which parameters exist.
std::vector<model_config> all_variants() {
  std::vector<model_config> out;
  for (const char* family : {"transformer", "lm", "classifier"})
    for (const char* norm : {"pre", "post"})
      for (const char* combine : {"residual", "concat"})
        for (const char* attention : {"scaled-dot", "dot", "general", "additive"})
          for (const char* pos : {"sinusoidal", "learned", "rope", "none", "hyperbolic"})
            for (bool tie : {true, false})
              for (bool share : {false, true}) {
                model_config c = base_config(family);
                c.norm = norm;
                c.combine = combine;
                c.attention = attention;
                c.pos_encoding = pos;
                c.tie_output = tie;
                if (std::string(attention) == "additive") {
                  c.heads = 1;
                  if (std::string(pos) == "rope") continue;  // rope with one head of 8: fine, but keep it simple
                }
                if (share) {
                  if (std::string(family) != "transformer") continue;
                  c.share_embeddings = true;
                  c.tgt_vocab = c.src_vocab;
                }
                out.push_back(c);
              }
  for (const char* attention : {"additive", "dot", "general", "scaled-dot"})
    for (bool bi : {false, true})
      for (bool share : {false, true}) {
        model_config c = base_config("rnn");
        c.attention = attention;
        c.bidirectional = bi;
        if (share) {
          c.share_embeddings = true;
          c.tgt_vocab = c.src_vocab;
        }
        out.push_back(c);
      }
  return out;
}

std::string describe(const model_config& c) {
  std::string s;
  for (const auto& [k, v] : c.to_map()) s += k + "=" + v + " ";
  return s;
}

// A valid checkpoint (checksummed, decoded back) of a tiny lm, with `edit` applied before encoding.
template <class Edit>
checkpoint tiny_checkpoint(Edit edit) {
  model_config c = base_config("lm");
  c.layers = 1;
  rng gen(1);
  auto m = make_model(c, gen);
  checkpoint ck;
  ck.model_config = c.to_map();
  ck.params = export_parameters(m->params());
  edit(ck);
  return decode_checkpoint(encode_checkpoint(ck), "tiny.ckpt");
}

}  // namespace

TEST_CASE("parameter_count equals the real parameter count for every family and variant") {
  const std::vector<model_config> variants = all_variants();
  CHECK(variants.size() > 200);
  for (const model_config& c : variants) {
    rng gen(0);
    const auto m = make_model(c, gen);
    INFO(describe(c));
    CHECK(parameter_count(c) == static_cast<double>(m->params().element_count()));
  }
  // And at a realistic size, where a wrong coefficient would show.
  for (const char* family : {"transformer", "lm", "classifier", "rnn"}) {
    model_config c;
    c.family = family;
    c.src_vocab = 4000;
    c.tgt_vocab = 4000;
    c.num_classes = 5;
    rng gen(0);
    INFO(family);
    CHECK(parameter_count(c) == static_cast<double>(make_model(c, gen)->params().element_count()));
  }
}

TEST_CASE("parameter_count of a huge configuration is a huge number, not a wrapped size") {
  model_config c = base_config("transformer");
  c.layers = 100000000;
  c.d_model = 1000000;
  c.ff = std::numeric_limits<std::size_t>::max();
  const double n = parameter_count(c);
  CHECK(std::isfinite(n));
  CHECK(n > 1e25);
}

TEST_CASE("optimizer slots") {
  CHECK(optimizer_slot_count("adamw", 0, false) == 2);
  CHECK(optimizer_slot_count("adam", 0, false) == 2);
  CHECK(optimizer_slot_count("sgd", 0, false) == 0);
  CHECK(optimizer_slot_count("sgd", 0.9f, false) == 1);
  CHECK(optimizer_slot_count("rmsprop", 0, false) == 1);
  CHECK(optimizer_slot_count("rmsprop", 0.9f, true) == 3);
}

TEST_CASE("estimates: parts add up and grow with what they are for") {
  const model_config c = base_config("transformer");
  const memory_estimate t = estimate_training(c, 4096, 0, 64, 2);
  CHECK(t.parameter_bytes == 4 * parameter_count(c));
  CHECK(t.gradient_bytes == t.parameter_bytes);
  CHECK(t.optimizer_bytes == 2 * t.parameter_bytes);
  CHECK(t.activation_bytes > 0);
  CHECK(t.total() == doctest::Approx(t.parameter_bytes + t.gradient_bytes + t.optimizer_bytes + t.checkpoint_bytes +
                                     t.activation_bytes));
  CHECK(estimate_training(c, 8192, 0, 64, 2).activation_bytes > t.activation_bytes);
  // --batch-size 32 at max_len 64 is 2048 padded tokens
  CHECK(estimate_training(c, 0, 32, 64, 2).activation_bytes == estimate_training(c, 2048, 0, 64, 2).activation_bytes);
  for (const char* family : {"transformer", "lm", "rnn"}) {
    const model_config f = base_config(family);
    const double one = estimate_decoding(f, 1, 32, 32).activation_bytes;
    CHECK(one > 0);
    CHECK(estimate_decoding(f, 1000, 32, 32).activation_bytes == doctest::Approx(1000 * one));
    CHECK(estimate_decoding(f, 1, 32, 32).parameter_bytes == 0);  // the model already exists
    // three workers: each one's hypotheses, and one set of parameters (the workers' models share
    // the loaded one's, each built whole, one at a time, before it shares)
    const memory_estimate three = estimate_decoding(f, 10, 32, 32, false, 3);
    CHECK(three.activation_bytes == doctest::Approx(30 * one));
    CHECK(three.parameter_bytes == doctest::Approx(4 * parameter_count(f)));
    CHECK(estimate_decoding(f, 10, 32, 32, false, 8).parameter_bytes == three.parameter_bytes);
    CHECK(estimate_decoding(f, 10, 32, 32, false, 0).total() == estimate_decoding(f, 10, 32, 32).total());
    // f16 K/V caches: less for the families that keep them, the same for the rnn
    const double half = estimate_decoding(f, 1, 32, 256, true).activation_bytes;
    const double full = estimate_decoding(f, 1, 32, 256).activation_bytes;
    if (std::string(family) == "rnn")
      CHECK(half == full);
    else
      CHECK(half < 0.8 * full);
  }
  // attention maps: quadratic in the length
  const double a100 = estimate_attention_dump(c, 100, 100).activation_bytes;
  const double a1000 = estimate_attention_dump(c, 1000, 1000).activation_bytes;
  CHECK(a1000 > 50 * a100);
}

TEST_CASE("check_memory: one line with the estimate and what is available") {
  model_config c = base_config("transformer");
  c.layers = 100000000;
  const memory_estimate e = estimate_training(c, 4096, 0, 256, 2);
  available_memory have{24e9, "this machine has"};
  try {
    check_memory(e, "the transformer model", have, "lower --layers");
    FAIL("not refused");
  } catch (const error& x) {
    const std::string m = x.what();
    INFO(m);
    CHECK(m.find("the transformer model needs about ") == 0);
    CHECK(m.find("parameters ") != std::string::npos);
    CHECK(m.find("optimizer state ") != std::string::npos);
    CHECK(m.find("activations ") != std::string::npos);
    CHECK(m.find("for batches of 4096 tokens") != std::string::npos);
    CHECK(m.find("but this machine has 24 GB available; lower --layers") != std::string::npos);
    CHECK(m.find('\n') == std::string::npos);
  }
  CHECK_NOTHROW(check_memory(estimate_training(base_config("lm"), 4096, 0, 256, 2), "x", have));
  CHECK(format_bytes(412e9) == "412 GB");
  CHECK(format_bytes(1.5e9) == "1.5 GB");
  CHECK(format_bytes(380e6) == "380 MB");
  CHECK(format_bytes(12) == "12 bytes");
}

// g++ defines __SANITIZE_ADDRESS__; clang 14 does not, and says so through __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define ATTN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTN_TEST_ASAN 1
#endif
#endif
#if defined(ATTN_TEST_ASAN)
constexpr bool built_with_address_sanitizer = true;
#else
constexpr bool built_with_address_sanitizer = false;
#endif

TEST_CASE("memory_available reports a positive amount and follows RLIMIT_AS") {
  const available_memory a = memory_available();
  CHECK(a.bytes > 0);
  CHECK(!a.source.empty());
  // In a child: with a 3 GB address-space limit, at most 3 GB is available. (Not under
  // AddressSanitizer, whose shadow reservation is already far above any such limit.)
  if (built_with_address_sanitizer) return;
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit r{3000000000ull, 3000000000ull};
    if (setrlimit(RLIMIT_AS, &r) != 0) _exit(3);
    const available_memory lim = memory_available();
    _exit(lim.bytes <= 3e9 && lim.source.find("ulimit -v") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a checkpoint whose valid config is too big is refused before the model is built") {
  // The checksum is valid: only the stored layers count is absurd. Under a 1 GB address-space
  // limit a child would die (or take minutes) if anything sized by it were allocated.
  const checkpoint forged = tiny_checkpoint([](checkpoint& c) { c.model_config["layers"] = "100000000"; });
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(30);
    // AddressSanitizer reserves terabytes of shadow address space up front, so under it an
    // address-space limit makes every later mmap fail; there the alarm alone bounds the child.
    if (!built_with_address_sanitizer) {
      rlimit r{1ull << 30, 1ull << 30};
      if (setrlimit(RLIMIT_AS, &r) != 0) _exit(3);
    }
    try {
      load_model(forged, "forged.ckpt");
    } catch (const error& e) {
      const std::string m = e.what();
      _exit(m.find("'forged.ckpt': its model needs about ") == 0 ? 0 : 1);
    } catch (...) {
      _exit(2);
    }
    _exit(4);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // In process too (the message): the check throws before make_model.
  CHECK_THROWS_WITH_AS(load_model(forged, "forged.ckpt"), doctest::Contains("'forged.ckpt': its model needs about"),
                       error);
}

TEST_CASE("a checkpoint whose config does not describe its parameters is refused before the model is built") {
  const checkpoint forged = tiny_checkpoint([](checkpoint& c) { c.model_config["layers"] = "3"; });
  CHECK_THROWS_WITH_AS(load_model(forged, "forged.ckpt"), doctest::Contains("its model config describes"), error);
}

TEST_CASE("a checkpoint holding NaN or Inf is refused, naming the parameter") {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    const checkpoint c = tiny_checkpoint([&](checkpoint& ck) {
      for (checkpoint_param& p : ck.params)
        if (p.name == "layers.0.ff.in.weight") p.value(1, 2) = bad;
    });
    CHECK_THROWS_WITH_AS(load_model(c, "nan.ckpt"),
                         doctest::Contains("checkpoint parameter 'layers.0.ff.in.weight' holds NaN or infinite values"),
                         error);
    // The same import restores training (train --resume, finetune): the store is left unchanged.
    model_config mc = base_config("lm");
    mc.layers = 1;
    rng gen(1);
    auto m = make_model(mc, gen);
    const float before = m->params().at("layers.0.ff.in.weight").value(1, 2);
    CHECK_THROWS_WITH_AS(import_parameters(m->params(), c.params), doctest::Contains("'layers.0.ff.in.weight'"), error);
    CHECK(m->params().at("layers.0.ff.in.weight").value(1, 2) == before);
  }
}
