#pragma once
// The coarse differentiable ops. Each records its backward closure on the input's tape
// (when recording) and has a finite-difference gradient test in tests/core/.
// Shapes: N = rows (batch*time), B = batch, T = time, H = heads, d = features.
// Row layout of sequences is batch-major: row = b * T + t.
//
// Conventions (implementations in ops_*.cpp):
// - All inputs of one op must live on the same tape; shape mismatches throw attn::error
//   naming the op and the shapes.
// - An output needs a gradient iff the tape records and some input needs one; otherwise no
//   closure is recorded. Parameter leaves (tape::param) accumulate into parameter::grad.
// - Products go through core/blas.h gemm(); row loops through core/kernels.h; large loops
//   are split over the pool of core/threads.h. attn's own kernels and attention give bitwise
//   the same results for any thread count; OpenBLAS's multithreaded GEMMs (linear, matmul,
//   lstm_cell) may differ from single-threaded ones in the last bits.
// - With recording off (no_grad), ops still create nodes: call tape::reset() between
//   decoding steps or sentences to recycle them.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/half.h"
#include "core/rng.h"
#include "core/tape.h"

namespace attn {

// ---- dense algebra ----------------------------------------------------------------------
var linear(var x, var w, var b);              // x [N,in], w [in,out], b [1,out] or invalid var -> [N,out]
// LoRA: x·w + b + s·low·lb with low [N,R] (= x·A, from matmul), lb [R,out] -> [N,out], one output node.
var linear_low_rank(var x, var w, var b, var low, var lb, float s);
var matmul(var a, var b, bool trans_a = false, bool trans_b = false);  // op(a) [M,K] · op(b) [K,N]
// LoRA dropout: dropout(x, p)·a, x [N,in], a [in,R] -> [N,R], with the mask of dropout()
// drawn from `seed` (a u64 of the run's rng) and drawn again in the backward pass instead of
// kept: no [N,in] node, mask or copy of x outlives the call. p in [0,1); as dropout(), no mask
// when p == 0 or the tape is not recording (then it is matmul(x, a)).
var dropout_matmul(var x, var a, float p, std::uint64_t seed);
// LoRA folded into a weight: w [in,out] + s·a [in,R]·b [R,out] -> [in,out] (one GEMM). For ops
// that take their weight whole (lstm_sequence, lstm_cell); the gradient flows on to a and b, and
// to w only when it needs one (a frozen base weight gets no gradient buffer).
var add_low_rank(var w, var a, var b, float s);
var add(var a, var b);                        // same shape, or b [1,cols] broadcast over rows
var mul(var a, var b);                        // elementwise; same shape, or b [1,cols] broadcast
var scale(var a, float s);                    // a * s

// ---- shape ------------------------------------------------------------------------------
struct row_packing;                                                // packed sequences, below
var concat_cols(const std::vector<var>& xs);                       // [N,c1] ... -> [N, c1+c2+...]
// The inverse of concat_cols. With unpack: x holds packed rows [n, Σw] (see row_packing below)
// and each output is unpacked, [B*T, w_k] with the padding rows 0.
std::vector<var> split_cols(var x, const std::vector<std::size_t>& widths, const row_packing* unpack = nullptr);
var concat_rows(const std::vector<var>& xs);                       // [n1,d] ... -> [n1+n2+..., d]
var slice_rows(var x, std::size_t begin, std::size_t count);       // rows [begin, begin+count)
var gather_rows(var x, const std::vector<std::int32_t>& rows);     // out[i] = x[rows[i]]; grads scatter-add

// ---- packed sequences -------------------------------------------------------------------
// The valid rows of a padded batch [B*T, d] (item b's first lengths[b] rows) one after another:
// item b's rows are packed rows [offsets[b], offsets[b+1]). Position-wise ops (linear layers,
// LayerNorm, the feed-forward block) then skip the padding; attention unpacks its q/k/v.
struct row_packing {
  std::size_t batch = 0, time = 0;
  std::vector<std::int32_t> offsets;  // [B+1]: offsets[B] = n, the valid rows
  std::size_t rows() const { return offsets.empty() ? 0 : static_cast<std::size_t>(offsets.back()); }
};
// lengths [B], each in [0, T] (empty = all T).
row_packing pack_layout(std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths);
var pack_rows(var x, const row_packing& p);    // [B*T, d] -> [n, d]
var unpack_rows(var x, const row_packing& p);  // [n, d] -> [B*T, d], the padding rows 0

// ---- lookups and pooling ----------------------------------------------------------------
var embedding(var table, const std::vector<std::int32_t>& ids);    // table [V,d], ids -> [ids.size(), d]
// Mean over the first lengths[b] time steps of each sequence: x [B*T,d] -> [B,d].
var mean_pool(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths);

// ---- normalisation and nonlinearities -----------------------------------------------------
var layer_norm(var x, var gain, var bias, float eps = 1e-5f);      // x [N,d], gain/bias [1,d]
var gelu(var x);                                                   // tanh approximation (GPT-2)
// The inner half of a feed-forward block: y = act(x)·w + b, x [N,k], w [k,out], b [1,out] or an
// invalid var -> [N,out], without keeping act(x): the backward pass recomputes it (one
// elementwise pass) for w's gradient, so the block keeps its widest activation once, not twice.
// With p > 0 (and recording), y = dropout(act(x))·w + b with dropout()'s mask for `seed` (draw it
// with rng::next_u64(), as dropout() does): the mask and the dropped activations are drawn again
// in the backward pass instead of kept, so dropout costs the block no memory either.
// reuse_x: the caller's promise, as tape::discard()'s, that nothing else reads x's value (a
// feed-forward block's inner projection). Then for relu, act(x) ⊙ mask is written over x and
// is what the backward pass reads (relu'(x) ⊙ mask is [value > 0] / (1-p)): nothing is drawn
// again and no [N,k] buffer is needed; without gradients, any activation is written over x.
// Ignored for a parameter's value.
enum class activation_fn { gelu, relu };
var activated_linear(var x, activation_fn act, var w, var b, float p = 0.0f, std::uint64_t seed = 0,
                     bool reuse_x = false);
var relu(var x);
var tanh(var x);
var sigmoid(var x);
var softmax(var x);                                                // row-wise
// Inverted dropout: keeps each element with probability 1-p and scales it by 1/(1-p). Returns x
// itself (same node) when p == 0 or the tape is not recording. Draws one u64 from gen per call
// (the mask is a counter-based hash of it, so a seed reproduces it). p outside [0,1) throws.
var dropout(var x, float p, rng& gen);
// x + dropout(a) for the residual connections: x, a [N,d] -> [N,d], with dropout()'s mask for
// `seed` (draw it with rng::next_u64() only when p > 0 and the tape records, as dropout() does;
// otherwise this is add(x, a)). Keeps neither the mask nor dropout(a): the backward pass draws the
// mask again. The same values and gradients as add(x, dropout(a, p, gen)).
var add_dropout(var x, var a, float p, std::uint64_t seed);

// ---- attention ---------------------------------------------------------------------------
enum class scoring { scaled_dot, dot };       // general = dot after a learned projection (nn layer)

struct attention_shape {
  std::size_t batch = 1, q_len = 1, k_len = 1, heads = 1;
  bool causal = false;                        // query t may see keys <= t + (k_len - q_len)
  std::vector<std::int32_t> k_lengths;        // valid keys per batch item (padding mask); empty = all
  // K/V layout (decoding caches; training leaves both at their defaults). K and V are stored in
  // *items* (pages) of R = k_item_rows rows each (0 = k_len). Batch item b's keys are its n items
  // k_items[b*n .. b*n + n), n = k_items.size() / batch (empty: n = 1, item b), in order: key j is
  // row k_items[b*n + j/R]*R + j%R, and n*R >= k_len. Items may be shared by several batch items:
  // beams of one sentence share its cross-attention K/V and the self-attention prefix they have in
  // common. Rows past k_len are never read. With n > 1 (a paged cache) the op is inference only:
  // q, k and v may not need gradients.
  std::size_t k_item_rows = 0;
  std::vector<std::int32_t> k_items = {};  // "= {}": brace-initialised shapes may leave it out
};

// Weights as computed in the forward pass, for dumps: [B*H*Tq, Tk], row = ((b*H + h)*Tq + t).
// For additive_attention: [B*Tq, Tk]. Filled whether or not the tape records.
struct attention_weights {
  matrix w;
};

// Multi-head dot-product attention, one op: scores = q·kᵀ (·1/√d_head for scaled_dot) -> mask
// -> softmax -> weights·v. q [B*Tq, H*dh], k [B*Tk, H*dh], v [B*Tk, H*dv] -> [B*Tq, H*dv].
// Masked positions get weight exactly 0; fully masked rows produce zeros (and zero gradients).
// k_lengths[b] in [0, Tk]; keys beyond it are skipped in the products, not just masked.
// With the K/V layout fields (R = k_item_rows): k [N*R, H*dh], v [N*R, H*dv], where N = B without
// k_items, else any N > every entry of k_items (with k_items, rows after the last whole item are
// allowed and never read: a cache's storage re-cut into longer pages); key j of batch item b is row k_items[b]*R + j
// (one item each), or in its pages as described at attention_shape (a paged cache).
// Gradients into K/V items shared by several batch items add up (computed serially then).
var attention(var q, var k, var v, const attention_shape& s, scoring sc, attention_weights* keep = nullptr);
// attention() over keys and values stored in half precision (a decoding cache's --kv-cache f16,
// core/half.h): k [N*R, H*dh] and v [N*R, H*dv] as binary16, in the layouts attention() reads.
// Inference only (q may not need a gradient). Each key and value enters as the float of its half
// and the arithmetic is attention()'s decoding path: the result equals attention() over
// from_half(k) and from_half(v), bit for bit.
var attention(var q, const half_matrix& k, const half_matrix& v, const attention_shape& s, scoring sc,
              attention_weights* keep = nullptr);

// Additive (Bahdanau) attention, single head: e[b,i,j] = score_v · tanh(qp[b,i] + kp[b,j]),
// weights = softmax_j(e), out[b,i] = Σ_j weights · values[b,j].
// qp [B*Tq, a] (= W₂y + b), kp [B*Tk, a] (= W₁x, precomputed once per sequence), score_v [1,a],
// values [B*Tk, dv] -> [B*Tq, dv]. kp and values follow the K/V layout fields as in attention(),
// one item per batch item (not paged).
var additive_attention(var qp, var kp, var score_v, var values, const attention_shape& s,
                       attention_weights* keep = nullptr);

// Rotary position embedding applied to each head of x [B*T, H*dh] (dh even), positions start at offset.
// Pairs (2i, 2i+1) of each head rotate by angle pos·10000^(-2i/dh) (the RoFormer/GPT-J layout).
var rope(var x, std::size_t batch, std::size_t time, std::size_t heads, std::size_t offset = 0);

// ---- recurrent ---------------------------------------------------------------------------
// One LSTM step with all four gates from one GEMM: gates = gates_x + h_prev·w_hh, gate order
// i, f, g, o. gates_x [B,4h] (x·W_ih + b, precomputed for all steps), h_prev/c_prev [B,h],
// w_hh [h,4h] -> {h [B,h], c [B,h]}. Either output may be left unused (its gradient is then 0).
// To compute gates_x for all steps at once: linear(x [B*T,in], W_ih, b) then slice_rows /
// gather_rows per step (rows are batch-major, so gather rows b*T + t for step t).
std::pair<var, var> lstm_cell(var gates_x, var h_prev, var c_prev, var w_hh);

// ---- loss ------------------------------------------------------------------------------
// Mean token cross-entropy of softmax(logits) against targets, ignoring rows whose target is
// pad_id; with label smoothing ε the target distribution is (1-ε)·onehot + ε/V.
// logits [N,V], targets N -> [1,1]. `tokens` (optional) receives the number of non-pad rows.
// All rows padded: loss 0 and zero gradient. A target outside [0,V) (other than pad_id) throws.
var softmax_cross_entropy(var logits, const std::vector<std::int32_t>& targets, std::int32_t pad_id = -1,
                          float label_smoothing = 0.0f, std::size_t* tokens = nullptr);

// The output layer and its loss in one op: softmax_cross_entropy(h·w + bias), with w [d,V]
// (a linear layer) or, with w_rows_are_classes, [V,d] (a tied embedding: h·wᵀ); bias [1,V] or an
// invalid var. The logits are never held whole: they are computed in chunks of rows (about 4 MB
// each), and when training each chunk becomes its gradient at once and is multiplied out into the
// gradients of h, w and bias, which the backward pass scales by the loss's gradient. A step keeps
// an [N,d] and a [d,V] buffer instead of the [N,V] logits (the largest activations of a language
// model); the matrix products are the same three.
// h [N,d] -> [1,1]. `tokens` as above; `correct` (optional) receives the non-pad rows whose
// highest logit is the target (the first maximum, as std::max_element).
var projected_cross_entropy(var h, var w, var bias, bool w_rows_are_classes, const std::vector<std::int32_t>& targets,
                            std::int32_t pad_id = -1, float label_smoothing = 0.0f, std::size_t* tokens = nullptr,
                            std::size_t* correct = nullptr);

}  // namespace attn
