#include "run_outputs.h"

#include "options.h"
#include "train/loop.h"

namespace attn::cli {

run_outputs::run_outputs(const train_command& cmd) {
  if (cmd.output == "-")
    throw usage_error("-o -: a checkpoint is a file, not a stream; give -o a file name");
  const std::vector<named_path> inputs = {{"--train", cmd.train_path},   {"--valid", cmd.valid_path},
                                          {"--vocab", cmd.vocab_path},   {"--src-vocab", cmd.src_vocab_path},
                                          {"--tgt-vocab", cmd.tgt_vocab_path}, {"--config", cmd.config_path},
                                          {"-m", cmd.base_path}};
  const named_path output{"-o", cmd.output}, best{"the best checkpoint of -o", best_path(cmd.output)}, log{"--log", cmd.log_path};
  refuse_overwrite(inputs, {output, best, log});
  // --resume CKPT is read whole before the first save, and -o defaults to it: only the log
  // may not land on it.
  refuse_overwrite({{"--resume", cmd.resume_path}}, {log});
  if (!cmd.output.empty()) locks_.push_back(std::make_unique<file_lock>(cmd.output));
  if (!cmd.log_path.empty() && cmd.log_path != "-") locks_.push_back(std::make_unique<file_lock>(cmd.log_path));
}

}  // namespace attn::cli
