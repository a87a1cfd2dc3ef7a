#pragma once
// Reverse-mode automatic differentiation over coarse ops (see ops.h).
//
// A `tape` records, for one forward pass, the values of every intermediate and a backward
// closure per op. `backward(loss)` runs the closures in reverse. `reset()` forgets the
// graph but keeps the buffers: the next step's i-th node reuses the i-th buffer when the shape
// matches, so steady-state training allocates (almost) nothing.
//
// Buffers are pooled: an op's outputs are dead once that op's backward closure has run (every
// closure that reads them — the op's own and its consumers' — ran before it), so their value
// and gradient buffers go back to one pool keyed by size; the next gradient of that size (an
// earlier layer's) takes one, and so does the next step's forward pass. The gradients alive at
// once are the backward pass's frontier, and they live in the memory of activations already
// spent: training memory is about the forward values plus a few layers' gradients, not their sum.
// Only outputs of ops (those that called begin_op(), as every op in core/ops does) are
// released; leaves and parameters keep their values and gradients, and the node the backward
// pass started from keeps its value. Reading a released value throws.
//
// Evaluation and decoding use a tape with recording off (`no_grad`): ops compute values only,
// no closures are kept, no gradient buffers exist.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

#include "core/parameter.h"
#include "core/tensor.h"

namespace attn {

class tape;

// A handle to a node on a tape: cheap to copy, valid until the tape's next reset().
struct var {
  tape* t = nullptr;
  int id = -1;

  bool valid() const { return t != nullptr && id >= 0; }
  const matrix& value() const;     // throws once discarded or released (tape.h, top)
  matrix& mutable_value() const;   // for ops filling their output
  matrix& grad() const;            // allocated (zeroed) on first use during backward
  bool has_grad() const;           // grad() was used in this backward pass (else it is all zero)
  // For a backward closure about to add into this node's gradient: returns the buffer and sets
  // `overwrite` when it holds no gradient yet (then the caller must write every element with
  // `=`, e.g. gemm beta = 0, saving a zero fill); otherwise the caller accumulates with `+=`.
  matrix& grad_for_write(bool& overwrite) const;
  bool needs_grad() const;
  std::size_t rows() const;  // the node's shape, also after tape::discard()
  std::size_t cols() const;
};

class tape {
 public:
  tape() = default;
  tape(const tape&) = delete;
  tape& operator=(const tape&) = delete;

  // Leaf for a parameter: its value is the parameter's value (no copy) and its gradient
  // accumulates straight into parameter::grad. needs_grad follows parameter::trainable. A
  // parameter that shares another's value (parameter::shares) reads that one, with no gradient.
  var param(parameter& p);
  // Leaf holding a copy of a constant (inputs, positional tables): no gradient.
  var constant(const matrix& m);
  // Leaf holding a copy of m whose gradient is collected when needs_grad (and recording): the
  // input of a block computed again in the backward pass (core/recompute.h).
  var leaf(const matrix& m, bool needs_grad);
  // A fresh node of the given shape for an op's output. Contents are unspecified (reused buffer).
  var make(std::size_t rows, std::size_t cols, bool needs_grad);
  // The caller's promise that nothing reads v's value from here on — no later op of the forward
  // pass and no backward closure (linear's output, split_cols' input, add's and add_dropout's
  // operands are read by none; the layers' gradient checks catch a wrong promise: the buffer is
  // overwritten by the next node of its size). Its gradient is still collected. The
  // buffer goes to a pool the next make() of the same size takes from, so a dead intermediate (a
  // projection only copied out of, a sublayer's output only added into the residual stream)
  // holds memory while it is used, not for the rest of the step. Parameters and discarded nodes
  // are left alone.
  void discard(var v);
  // Moves v's value out of the tape, without a copy: an output a decoding step hands to its
  // caller ([rows, vocabulary] logits, 10 MB a step for a beam of 320 rows). The node is left as
  // discard() leaves it (reading its value throws) and its buffer does not come back: the next
  // graph's node allocates again. A parameter's value (or a node's already given away) is not the
  // tape's to give: a copy of it, or an error.
  matrix take_value(var v);
  // Whether v's value is its node's own buffer (an op's output, a constant), not a parameter's
  // and not discarded: an op the caller promised v to (as discard()) may write over it.
  bool owns_value(var v) const;

  // Marks the start of an op: the nodes made from here to its on_backward() are its outputs,
  // whose gradients are released to the pool once its closure has run (detail::tape_of calls it).
  void begin_op() { op_first_ = static_cast<int>(used_); }

  // Registers the backward closure of the op that produced the latest node(s).
  // Ignored when not recording.
  void on_backward(std::function<void()> fn);

  // Seeds d(loss)/d(loss) = 1 for a [1,1] node and runs every closure in reverse order.
  void backward(var loss);
  // The same from any node y with a given gradient d(loss)/dy (y's shape): what reaches y from
  // outside this tape (core/recompute.h).
  void backward_from(var y, const matrix& grad_y);

  // Forgets the graph, keeps the buffers for the next forward pass.
  void reset();
  // Forgets the graph and frees every buffer (when no more steps follow, or before a phase that
  // needs the memory: a validation pass). give_back: also return the freed pages to the system
  // (malloc_trim), for what comes last (a checkpoint's copies); false keeps them in the heap for
  // the next phase to reuse without page faults.
  void release(bool give_back = true);

  bool recording() const { return recording_; }
  void set_recording(bool on) { recording_ = on; }

  // Scratch buffers an op needs to keep for its backward pass (softmax weights, masks, ...),
  // reused across steps like node buffers. The reference stays valid until reset(); contents
  // are unspecified. Closures capture the address (`matrix* w = &t.scratch(r, c)`).
  matrix& scratch(std::size_t rows, std::size_t cols);
  // A buffer of n floats any op may use within one call (its forward, or its backward closure)
  // for something it does not keep: the next transient() call may hand out the same memory.
  float* transient(std::size_t n) {
    if (transient_.size() < n) transient_.resize(n);
    return transient_.data();
  }
  // The same for integer data (ids, row indices) an op keeps for its backward pass.
  std::vector<std::int32_t>& scratch_ints(std::size_t n);

  // How many times a node, gradient or scratch buffer was (re)allocated since construction.
  // After one warm-up step, an identical forward/backward adds nothing.
  std::size_t allocations() const { return allocations_; }

  // Bytes held in buffers: values and gradients held by nodes (parameters' excluded), the pool's
  // free buffers (discarded and released values, released gradients: after a backward pass, most
  // of what the step used) and scratch. For memory reports.
  struct memory_use {
    std::size_t values = 0, grads = 0, pooled = 0, scratch = 0;
    std::size_t total() const { return values + grads + pooled + scratch; }
  };
  memory_use memory() const;
  std::size_t size() const { return used_; }                  // nodes in the current graph
  std::size_t closures() const { return backward_.size(); }   // backward closures recorded

  // Internal to var.
  struct node {
    matrix own_value, own_grad;
    matrix* value = nullptr;  // &own_value, or a parameter's value
    matrix* grad = nullptr;   // &own_grad, or a parameter's grad
    std::size_t rows = 0, cols = 0;  // the value's shape (kept when the value is discarded)
    bool needs_grad = false;
    bool grad_ready = false;  // own_grad has been zeroed for this backward pass
    // Elements of the value buffer the backward pass released to the pool (0: none): reset()
    // gives the node a buffer of that size back.
    std::size_t released = 0;
  };
  node& at(int id) { return nodes_[static_cast<std::size_t>(id)]; }
  matrix& grad_of(int id, bool zero);  // shapes (and zeroes, if asked) the gradient on first use

 private:
  std::deque<node> nodes_;         // deque: node addresses stay put; entries reused after reset()
  std::size_t used_ = 0;           // nodes in use by the current graph
  // Each closure with the first node id created after the previous closure: when none of
  // the nodes [first, next closure's first) received a gradient, the closure is skipped.
  struct closure {
    std::function<void()> fn;
    int first_node;
    int outputs_first;  // its op's outputs are [outputs_first, next first_node); -1: none known
  };
  std::vector<closure> backward_;
  int closure_first_ = 0;
  int op_first_ = -1;              // begin_op()'s node index, until the op's on_backward()
  // Free buffers by element count: discarded values, released values and gradients. A size no
  // make(), gradient, discard() or release touched during a step is freed at the next reset(): a
  // batch of another shape does not keep old buffers.
  struct buffer_bucket {
    std::vector<matrix> buffers;
    bool drawn = false;  // taken from or given to since the last reset()
  };
  std::unordered_map<std::size_t, buffer_bucket> free_;
  int seed_ = -1;                  // the node backward() started from: its value outlives the pass
  std::deque<matrix> scratch_;     // deque: references handed out stay valid as it grows
  std::size_t scratch_used_ = 0;
  std::deque<std::vector<std::int32_t>> int_scratch_;
  std::size_t int_scratch_used_ = 0;
  std::vector<float> transient_;
  std::size_t allocations_ = 0;
  bool recording_ = true;

  node& next_node();
  void run_closures();  // the closures in reverse order, once the seed's gradient is set
  void release_outputs(int first, int end);  // own values and gradients of nodes [first, end) to the pool
  void give(matrix& m);                      // m's buffer to the pool (m left empty)
  bool take(std::size_t size, matrix& m);    // a pooled buffer of `size` elements into m (its own freed)
  void shape_buffer(matrix& m, std::size_t rows, std::size_t cols);
  void shape_value(node& n, std::size_t rows, std::size_t cols);
  void free_unused();  // frees the pool's buckets untouched since the last call
};

// Turns recording off for a scope: `{ no_grad g(t); ... }`.
class no_grad {
 public:
  explicit no_grad(tape& t) : t_(t), was_(t.recording()) { t_.set_recording(false); }
  ~no_grad() { t_.set_recording(was_); }
 private:
  tape& t_;
  bool was_;
};

}  // namespace attn
