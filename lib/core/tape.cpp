#include "core/tape.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>

#include "core/error.h"
#include "core/threads.h"

namespace attn {

// ---- var -------------------------------------------------------------------------------

namespace {
// A node whose value went back to the pool (discarded, or released by the backward pass) has
// nothing to read: fail loudly rather than hand out an empty matrix.
const matrix& readable(const tape::node& n) {
  if (n.value->size() == 0 && n.rows * n.cols != 0)
    throw error("tape: a node's value was read after it was discarded or released by the backward pass");
  return *n.value;
}
}  // namespace

const matrix& var::value() const {
  return readable(t->at(id));
}
matrix& var::mutable_value() const {
  return const_cast<matrix&>(readable(t->at(id)));
}
matrix& var::grad() const { return t->grad_of(id, true); }
bool var::needs_grad() const { return t->at(id).needs_grad; }
bool var::has_grad() const { return t->at(id).grad_ready; }
std::size_t var::rows() const { return t->at(id).rows; }
std::size_t var::cols() const { return t->at(id).cols; }

matrix& var::grad_for_write(bool& overwrite) const {
  tape::node& n = t->at(id);
  // Parameter gradients always accumulate (the caller zeroes them once per step).
  overwrite = !n.grad_ready && n.grad == &n.own_grad;
  return t->grad_of(id, !overwrite);
}

// ---- tape ------------------------------------------------------------------------------

namespace {
// Zeroes a gradient about to be accumulated into, split over the threads when large (the
// feed-forward layers' are megabytes; one core does not saturate the memory bus).
void fill_zero(matrix& m) {
  float* p = m.data();
  parallel_for(m.size(), std::size_t{1} << 16, [p](std::size_t b, std::size_t e) { std::fill(p + b, p + e, 0.0f); });
}
}  // namespace

// Frees the buckets no buffer was drawn from or given to since the last call, and clears the
// marks of the others.
void tape::free_unused() {
  for (auto it = free_.begin(); it != free_.end();) {
    if (!it->second.drawn) {
      it = free_.erase(it);
    } else {
      it->second.drawn = false;
      ++it;
    }
  }
}

void tape::shape_buffer(matrix& m, std::size_t rows, std::size_t cols) {
  if (m.shape()[0] == rows && m.shape()[1] == cols) return;
  // Same element count: xtensor keeps the storage; otherwise it reallocates.
  if (m.size() != rows * cols) ++allocations_;
  m.resize(std::array<std::size_t, 2>{rows, cols});
}

tape::node& tape::next_node() {
  if (used_ == nodes_.size()) nodes_.emplace_back();
  node& n = nodes_[used_++];
  n.value = &n.own_value;
  n.grad = &n.own_grad;
  n.needs_grad = false;
  n.grad_ready = false;
  return n;
}

var tape::param(parameter& p) {
  node& n = next_node();
  // The node may have held a value and gradient of its own in an earlier graph whose nodes came
  // in another order (a batch with and one without packed rows, say). A parameter's node points at
  // the parameter's: its own are freed, not kept idle for the rest of the run.
  if (n.own_value.size()) n.own_value = matrix::from_shape({0, 0});
  if (n.own_grad.size()) n.own_grad = matrix::from_shape({0, 0});
  // A shared value is never written through the node: ops write only values their nodes own
  // (owns_value), and no gradient is kept for it.
  n.value = const_cast<matrix*>(&p.current());
  n.grad = &p.grad;
  n.rows = attn::rows(*n.value);
  n.cols = attn::cols(*n.value);
  n.needs_grad = recording_ && p.trainable && !p.shares;
  return var{this, static_cast<int>(used_ - 1)};
}

var tape::constant(const matrix& m) {
  node& n = next_node();
  shape_value(n, attn::rows(m), attn::cols(m));
  std::copy(m.data(), m.data() + m.size(), n.own_value.data());
  return var{this, static_cast<int>(used_ - 1)};
}

var tape::leaf(const matrix& m, bool needs_grad) {
  var v = constant(m);
  at(v.id).needs_grad = recording_ && needs_grad;
  return v;
}

var tape::make(std::size_t rows, std::size_t cols, bool needs_grad) {
  node& n = next_node();
  shape_value(n, rows, cols);
  n.needs_grad = recording_ && needs_grad;
  return var{this, static_cast<int>(used_ - 1)};
}

void tape::give(matrix& m) {
  buffer_bucket& bucket = free_[m.size()];
  bucket.buffers.push_back(std::move(m));
  bucket.drawn = true;
  m = matrix::from_shape({0, 0});
}

bool tape::take(std::size_t size, matrix& m) {
  auto it = free_.find(size);
  if (it == free_.end() || it->second.buffers.empty()) return false;
  m = std::move(it->second.buffers.back());  // m's old buffer (another size) is freed
  it->second.buffers.pop_back();
  it->second.drawn = true;
  return true;
}

void tape::shape_value(node& n, std::size_t rows, std::size_t cols) {
  const std::size_t size = rows * cols;
  if (n.own_value.size() != size) take(size, n.own_value);
  shape_buffer(n.own_value, rows, cols);
  n.rows = rows;
  n.cols = cols;
}

void tape::discard(var v) {
  if (!v.valid() || v.t != this) throw error("discard: the node is not of this tape");
  node& n = at(v.id);
  if (n.value != &n.own_value || n.own_value.size() == 0) return;  // a parameter's, or already discarded
  give(n.own_value);
}

matrix tape::take_value(var v) {
  if (!v.valid() || v.t != this) throw error("take_value: the node is not of this tape");
  node& n = at(v.id);
  if (n.value != &n.own_value) return readable(n);  // a parameter's: a copy
  readable(n);                                      // throws once discarded or released
  matrix out = std::move(n.own_value);
  n.own_value = matrix::from_shape({0, 0});
  return out;
}

bool tape::owns_value(var v) const {
  if (!v.valid() || v.t != this) throw error("owns_value: the node is not of this tape");
  const node& n = nodes_[static_cast<std::size_t>(v.id)];
  return n.value == &n.own_value && n.own_value.size() != 0;
}

matrix& tape::grad_of(int id, bool zero) {
  node& n = at(id);
  if (!n.grad_ready) {
    const std::size_t r = n.rows, c = n.cols;
    if (n.grad == &n.own_grad) {
      if (n.own_grad.size() != r * c) {
        // Take a pooled buffer of this size (keeping this node's old one in the pool).
        auto it = free_.find(r * c);
        if (it != free_.end() && !it->second.buffers.empty()) {
          if (n.own_grad.size() != 0) give(n.own_grad);
          take(r * c, n.own_grad);
        } else {
          free_[r * c].drawn = true;
        }
      }
      shape_buffer(n.own_grad, r, c);
      if (zero) fill_zero(n.own_grad);
    } else if (attn::rows(*n.grad) != r || attn::cols(*n.grad) != c) {
      // A trainable parameter whose gradient was never allocated (zero_grad not called yet).
      *n.grad = matrix::from_shape({r, c});
      n.grad->fill(0.0f);
      ++allocations_;
    }
    n.grad_ready = true;
  }
  return *n.grad;
}

void tape::on_backward(std::function<void()> fn) {
  if (!recording_) return;
  backward_.push_back(closure{std::move(fn), closure_first_, op_first_ >= closure_first_ ? op_first_ : -1});
  closure_first_ = static_cast<int>(used_);
  op_first_ = -1;
}

void tape::backward(var loss) {
  if (!loss.valid() || loss.t != this) throw error("backward: the loss is not a node of this tape");
  if (loss.rows() != 1 || loss.cols() != 1)
    throw error("backward: the loss must be a [1,1] scalar, got [" + std::to_string(loss.rows()) + "," +
                std::to_string(loss.cols()) + "]");
  if (!at(loss.id).needs_grad) return;  // nothing trainable reaches the loss
  for (std::size_t i = 0; i < used_; ++i) nodes_[i].grad_ready = false;
  seed_ = loss.id;
  loss.grad()(0, 0) = 1.0f;
  run_closures();
}

void tape::backward_from(var y, const matrix& grad_y) {
  if (!y.valid() || y.t != this) throw error("backward_from: the node is not of this tape");
  if (attn::rows(grad_y) != y.rows() || attn::cols(grad_y) != y.cols())
    throw error("backward_from: the gradient is [" + std::to_string(attn::rows(grad_y)) + "," +
                std::to_string(attn::cols(grad_y)) + "] for a [" + std::to_string(y.rows()) + "," +
                std::to_string(y.cols()) + "] node");
  if (!at(y.id).needs_grad) return;
  for (std::size_t i = 0; i < used_; ++i) nodes_[i].grad_ready = false;
  seed_ = y.id;
  bool overwrite = false;
  matrix& g = y.grad_for_write(overwrite);
  if (overwrite) {
    std::copy(grad_y.data(), grad_y.data() + grad_y.size(), g.data());
  } else {
    for (std::size_t k = 0; k < g.size(); ++k) g.data()[k] += grad_y.data()[k];
  }
  run_closures();
}

void tape::run_closures() {
  // Closure i produced nodes [first_i, first_{i+1}); skip it when none of them got a gradient.
  int end = static_cast<int>(used_);
  for (std::size_t i = backward_.size(); i-- > 0;) {
    const int first = backward_[i].first_node;
    bool any = false;
    for (int k = first; k < end && !any; ++k) any = nodes_[static_cast<std::size_t>(k)].grad_ready;
    if (any) backward_[i].fn();
    if (backward_[i].outputs_first >= 0) release_outputs(backward_[i].outputs_first, end);
    end = first;
  }
  seed_ = -1;
}

void tape::release_outputs(int first, int end) {
  for (int k = first; k < end; ++k) {
    node& n = nodes_[static_cast<std::size_t>(k)];
    if (n.grad == &n.own_grad && n.own_grad.size() != 0) {
      give(n.own_grad);
      n.grad_ready = false;
    }
    if (n.value == &n.own_value && n.own_value.size() != 0 && k != seed_) {
      n.released = n.own_value.size();
      give(n.own_value);
    }
  }
}

tape::memory_use tape::memory() const {
  memory_use m;
  for (const node& n : nodes_) {
    m.values += n.own_value.size() * sizeof(float);
    m.grads += n.own_grad.size() * sizeof(float);
  }
  for (const auto& bucket : free_)
    for (const matrix& b : bucket.second.buffers) m.pooled += b.size() * sizeof(float);
  for (const matrix& s : scratch_) m.scratch += s.size() * sizeof(float);
  m.scratch += transient_.capacity() * sizeof(float);
  return m;
}

void tape::reset() {
  // Each node whose value the backward pass released takes a buffer of that size back from the
  // pool (where it is, or the gradient that used it), so the next forward pass finds its nodes
  // as they were, and the pool holds no more than it did before values were released.
  for (std::size_t i = 0; i < used_; ++i) {
    node& n = nodes_[i];
    if (n.released != 0 && n.own_value.size() == 0) take(n.released, n.own_value);
    n.released = 0;
  }
  used_ = 0;
  backward_.clear();
  closure_first_ = 0;
  op_first_ = -1;
  scratch_used_ = 0;
  int_scratch_used_ = 0;
  free_unused();
}

void tape::release(bool give_back) {
  reset();
  nodes_.clear();
  scratch_.clear();
  int_scratch_.clear();
  free_.clear();
  std::vector<float>().swap(transient_);
#if defined(__GLIBC__)
  if (!give_back) return;
  // Hands the freed pages back to the kernel even when malloc was set to keep what it frees
  // (the attn binary does, cli/allocator.h): what comes next — a checkpoint's copies, its
  // encoding — should not stack on the step's retained heap. Without this the LM-small run's
  // peak was 20 % higher.
  ::malloc_trim(0);
#endif
}

matrix& tape::scratch(std::size_t rows, std::size_t cols) {
  if (scratch_used_ == scratch_.size()) scratch_.emplace_back();
  matrix& m = scratch_[scratch_used_++];
  shape_buffer(m, rows, cols);
  return m;
}

std::vector<std::int32_t>& tape::scratch_ints(std::size_t n) {
  if (int_scratch_used_ == int_scratch_.size()) int_scratch_.emplace_back();
  std::vector<std::int32_t>& v = int_scratch_[int_scratch_used_++];
  if (v.capacity() < n) ++allocations_;
  v.resize(n);
  return v;
}

}  // namespace attn
