#pragma once
// Data parallelism's one exchange per update: every trainable parameter's gradient summed over
// the ranks of a process group (as PyTorch DDP and Marian do), in a few large messages. The
// gradients are packed into buckets of about bucket_bytes, last parameters first (the order in
// which a backward pass finishes them), each summed in place by one allreduce. With one process
// nothing is exchanged and only the scaling is applied. (The exchange follows the backward pass;
// it does not overlap it: docs/distributed.md says what that costs.)
#include <cstddef>
#include <vector>

#include "core/parameter.h"
#include "core/process_group.h"

namespace attn {

class gradient_sync {
 public:
  // Buckets over params' trainable parameters as they are now (freeze before constructing).
  gradient_sync(parameter_store& params, process_group& group, std::size_t bucket_bytes = std::size_t{16} << 20);

  // grad = scale × (sum over ranks of grad), for every trainable parameter. Every rank calls it
  // with the same scale; afterwards every rank holds the same gradients.
  void sum_and_scale(float scale);

  // Every rank's parameter values (trainable or not) become root's: the start of a run, so that
  // the ranks begin from one model whatever each initialised or read.
  void broadcast_values(int root);

  std::size_t bucket_count() const { return buckets_.size(); }
  double seconds() const { return seconds_; }  // spent in sum_and_scale so far

 private:
  struct bucket {
    std::vector<parameter*> params;
    std::vector<float> buffer;  // their gradients, one after another
  };
  std::vector<parameter*> all_;
  std::vector<bucket> buckets_;
  process_group& group_;
  double seconds_ = 0;
};

}  // namespace attn
