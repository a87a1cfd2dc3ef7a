#include "nn/feed_forward.h"

#include "core/error.h"

namespace attn::nn {

activation parse_activation(const std::string& name) {
  if (name == "gelu") return activation::gelu;
  if (name == "relu") return activation::relu;
  throw error("unknown activation '" + name + "' (choose gelu or relu)");
}

const char* activation_name(activation a) { return a == activation::gelu ? "gelu" : "relu"; }

feed_forward::feed_forward(parameter_store& store, const std::string& prefix, std::size_t d, std::size_t ff,
                           activation act, float dropout_p, rng& gen)
    : in_(store, prefix + ".in", d, ff, gen), out_(store, prefix + ".out", ff, d, gen), act_(act), drop_{dropout_p} {}

// x [N, d] -> [N, ff] -> [N, d]
var feed_forward::forward(var x, rng& gen) const {
  var h = in_.forward(x, &gen);
  if (!out_.has_adapter()) {  // one op: act(h) kept over h (relu) or not at all, no dropout mask kept
    tape& t = *x.t;
    const bool dropping = drop_.p > 0.0f && t.recording();
    const std::uint64_t seed = dropping ? gen.next_u64() : 0;  // the draw dropout() would make
    return activated_linear(h, act_ == activation::gelu ? activation_fn::gelu : activation_fn::relu,
                            t.param(out_.weight()), out_.bias() ? t.param(*out_.bias()) : var{},
                            dropping ? drop_.p : 0.0f, seed, /*reuse_x=*/true);  // h is read by nothing else
  }
  h = act_ == activation::gelu ? gelu(h) : relu(h);
  return out_.forward(drop_.forward(h, gen), &gen);
}

}  // namespace attn::nn
