#pragma once
// Reverse-mode automatic differentiation over coarse ops (see ops.h).
//
// A `tape` records, for one forward pass, the values of every intermediate and a backward
// closure per op. `backward(loss)` runs the closures in reverse. `reset()` forgets the
// graph but keeps the buffers: the next step's i-th node reuses the i-th buffer when the shape
// matches, so steady-state training allocates (almost) nothing.
//
// Evaluation and decoding use a tape with recording off (`no_grad`): ops compute values only,
// no closures are kept, no gradient buffers exist.
#include <cstddef>
#include <deque>
#include <functional>
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
  const matrix& value() const;
  matrix& mutable_value() const;   // for ops filling their output
  matrix& grad() const;            // allocated (zeroed) on first use during backward
  bool needs_grad() const;
  std::size_t rows() const { return value().shape()[0]; }
  std::size_t cols() const { return value().shape()[1]; }
};

class tape {
 public:
  tape() = default;
  tape(const tape&) = delete;
  tape& operator=(const tape&) = delete;

  // Leaf for a parameter: its value is the parameter's value (no copy) and its gradient
  // accumulates straight into parameter::grad. needs_grad follows parameter::trainable.
  var param(parameter& p);
  // Leaf holding a copy of a constant (inputs, positional tables): no gradient.
  var constant(const matrix& m);
  // A fresh node of the given shape for an op's output. Contents are unspecified (reused buffer).
  var make(std::size_t rows, std::size_t cols, bool needs_grad);

  // Registers the backward closure of the op that produced the latest node(s).
  // Ignored when not recording.
  void on_backward(std::function<void()> fn);

  // Seeds d(loss)/d(loss) = 1 for a [1,1] node and runs every closure in reverse order.
  void backward(var loss);

  // Forgets the graph, keeps the buffers for the next forward pass.
  void reset();

  bool recording() const { return recording_; }
  void set_recording(bool on) { recording_ = on; }

  // Scratch buffers an op needs to keep for its backward pass (softmax weights, masks, ...),
  // reused across steps like node buffers.
  matrix& scratch(std::size_t rows, std::size_t cols);

  // Internal to var.
  struct node {
    matrix own_value, own_grad;
    matrix* value = nullptr;  // &own_value, or a parameter's value
    matrix* grad = nullptr;   // &own_grad, or a parameter's grad
    bool needs_grad = false;
    bool grad_ready = false;  // own_grad has been zeroed for this backward pass
  };
  node& at(int id) { return nodes_[static_cast<std::size_t>(id)]; }

 private:
  std::deque<node> nodes_;         // deque: node addresses stay put; entries reused after reset()
  std::size_t used_ = 0;           // nodes in use by the current graph
  std::vector<std::function<void()>> backward_;
  std::vector<matrix> scratch_;
  std::size_t scratch_used_ = 0;
  bool recording_ = true;
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
