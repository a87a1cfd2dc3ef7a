#pragma once
// The files a training run writes (the checkpoint, its ".best" twin, the --log CSV), claimed
// before anything is read or written: none may be one of the run's inputs or another output,
// a checkpoint is never a stream, and each is locked (io/file_lock.h) so that a second run
// writing the same files stops at once instead of both reporting "saved".
#include <memory>
#include <optional>
#include <vector>

#include "io/file_lock.h"
#include "progress.h"
#include "train_command.h"

namespace attn::cli {

class run_outputs {
 public:
  // Throws usage_error (same file as an input, `-o -`) or attn::error (locked by another run).
  explicit run_outputs(const train_command& cmd);

 private:
  std::vector<std::unique_ptr<file_lock>> locks_;
};

// The run's outputs claimed by rank 0 of a data-parallel run (or the one process), which
// writes every file; on the other ranks nothing is claimed and `out` is muted (they print only
// their errors).
std::optional<run_outputs> claim_outputs(const train_command& cmd, progress& out);

}  // namespace attn::cli
