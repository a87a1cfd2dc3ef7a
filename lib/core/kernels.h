#pragma once
// Fused kernels over contiguous float memory: the row loops behind the ops in ops.h, and
// helpers for optimizers and clipping. Vectorized with xsimd (exp, tanh) or plain loops the
// compiler vectorizes. No allocation, no xtensor expressions; pointers must not alias unless
// a function says so. "+=" in a comment means the function accumulates into its output.
#include <cstddef>

namespace attn::kernels {

// ---- vector helpers (optimizers, clipping) ---------------------------------------------
void axpy(std::size_t n, float a, const float* x, float* y);        // y += a·x
void scale(std::size_t n, float a, float* x);                       // x *= a (in place)
void add(std::size_t n, const float* a, const float* b, float* y);  // y = a + b (y may alias a or b)
void mul(std::size_t n, const float* a, const float* b, float* y);  // y = a ⊙ b (may alias)
void fill(std::size_t n, float v, float* x);
float dot(std::size_t n, const float* a, const float* b);
double sum_squares(std::size_t n, const float* x);  // in double, for norms
float max(std::size_t n, const float* x);           // n > 0
// The index of the first maximum of x[0, n) (n > 0), as std::max_element for numbers; a NaN is
// never the maximum (all NaN: 0).
std::size_t argmax(std::size_t n, const float* x);

// AdamW step on one tensor (decoupled weight decay, as torch.optim.AdamW):
//   m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²;
//   p -= lr·( (m/bc1) / (sqrt(v/bc2) + eps) + wd·p ),  bc1 = 1-β1^t, bc2 = 1-β2^t.
// ---- elementwise nonlinearities: forward writes y (may alias x), backward does dx += ... --
void exp(std::size_t n, const float* x, float* y);           // may alias
void gelu_forward(std::size_t n, const float* x, float* y);  // tanh approximation
void gelu_backward(std::size_t n, const float* x, const float* dy, float* dx);
void tanh_forward(std::size_t n, const float* x, float* y);
void tanh_backward(std::size_t n, const float* y, const float* dy, float* dx);  // dx += dy(1-y²)
void sigmoid_forward(std::size_t n, const float* x, float* y);
void sigmoid_backward(std::size_t n, const float* y, const float* dy, float* dx);  // dx += dy·y(1-y)
void relu_forward(std::size_t n, const float* x, float* y);
void relu_backward(std::size_t n, const float* y, const float* dy, float* dx);  // dx += dy·[y>0]
// The same for a gradient g overwritten where it lies: g = g·gelu'(x), g = g·[y>0].
void gelu_backward_in_place(std::size_t n, const float* x, float* g);
// y = gelu(x) and d = gelu'(x) in one pass (one exp and one divide an element, as each alone),
// d over x allowed: a backward pass that recomputes gelu's output and then needs its derivative.
// g·d is then bit for bit gelu_backward_in_place's g.
void gelu_value_and_slope(std::size_t n, const float* x, float* y, float* d);
void relu_backward_in_place(std::size_t n, const float* y, float* g);
// relu's gradient through a dropout mask, read from their product y = relu(x) ⊙ mask (an element
// is > 0 only where x > 0 and the mask kept it, at the value `keep`): dx = g·keep·[y>0], or
// dx += that when accumulate. dx may alias g.
void relu_dropout_backward(std::size_t n, const float* y, const float* g, float keep, float* dx, bool accumulate);

// ---- rows -------------------------------------------------------------------------------
// Softmax of x[0, valid) into y[0, valid); y[valid, n) = 0. valid == 0 gives all zeros.
// x and y may alias.
void softmax_row(std::size_t n, std::size_t valid, const float* x, float* y);
// dx[j] (+= or =) y[j]·(dy[j] - Σ_k y[k]dy[k]) · s, over j < n. dx may alias dy.
void softmax_backward_row(std::size_t n, const float* y, const float* dy, float s, float* dx, bool accumulate);
// log Σ_j exp(x[j]) over j < n (n > 0), stable.
float logsumexp_row(std::size_t n, const float* x);
// Log-softmax of x into y (may alias).
void log_softmax_row(std::size_t n, const float* x, float* y);

// x [N,d] -> y [N,d]; mean/rstd [N] are kept for the backward pass. gain/bias may be null.
void layer_norm_forward(std::size_t N, std::size_t d, const float* x, const float* gain, const float* bias, float eps,
                        float* y, float* mean, float* rstd);
// dx += ..., dgain += Σ dy·x̂, dbias += Σ dy. Any of dx/dgain/dbias/gain may be null.
void layer_norm_backward(std::size_t N, std::size_t d, const float* x, const float* gain, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgain, float* dbias);

// out[j] += Σ_i x[i·ld + j] for a [N, d] block with leading dimension ld (bias gradients).
void add_col_sums(std::size_t N, std::size_t d, const float* x, std::size_t ld, float* out);

// Cross-entropy of one row against (1-ε)·onehot(target) + ε/V: returns the loss and the row's
// log-sum-exp (kept for the backward pass).
float cross_entropy_row(std::size_t V, const float* logits, std::size_t target, float smoothing, float* lse);
// x = g·(softmax(x) - target distribution) in place, from the kept lse: a row's logits become
// their gradient.
void cross_entropy_gradient_in_place(std::size_t V, float* x, std::size_t target, float smoothing, float lse, float g);
// dlogits += g·(softmax(logits) - target distribution), from the kept lse.
void cross_entropy_backward_row(std::size_t V, const float* logits, std::size_t target, float smoothing, float lse,
                                float g, float* dlogits);

// ---- LSTM gates (one row; gate order i, f, g, o) ----------------------------------------------
// a [4H]: pre-activations in, activated gates (σi, σf, tanh g, σo) out (in place);
// c = σf⊙c_prev + σi⊙tanh g, tc = tanh(c), h = σo⊙tc (each [H]).
void lstm_forward_row(std::size_t H, float* a, const float* c_prev, float* c, float* tc, float* h);
// From the kept activated gates a [4H], tc = tanh(c) and c_prev [H], and the gradients dh, dc of
// h and c (either may be null: zero): dgates [4H] = the pre-activation gradient (=), and
// dc_prev [H] = dct⊙σf (=) with dct = dc + dh⊙σo⊙(1-tc²). dc_prev may alias dc.
void lstm_backward_row(std::size_t H, const float* a, const float* tc, const float* c_prev, const float* dh,
                       const float* dc, float* dgates, float* dc_prev);

}  // namespace attn::kernels
