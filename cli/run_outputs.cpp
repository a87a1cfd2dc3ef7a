#include "run_outputs.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "io/atomic_file.h"
#include "models/lora.h"
#include "options.h"
#include "processes.h"
#include "train/loop.h"

namespace attn::cli {

namespace {

// Devices, FIFOs and the standard streams are written in place: nothing to lock there (and a
// lock file beside /dev/null is neither possible nor wanted).
bool lockable(const std::string& path) {
  if (path.empty() || path == "-" || standard_stream_of(path) >= 0) return false;
  struct stat st;
  return ::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode);
}

}  // namespace

run_outputs::run_outputs(const train_command& cmd) {
  if (cmd.output == "-")
    throw usage_error("-o -: a checkpoint is a file, not a stream; give -o a file name");
  std::vector<named_path> inputs = {{"--train", cmd.train_path},
                                    {"--valid", cmd.valid_path},
                                    {"--vocab", cmd.vocab_path},
                                    {"--src-vocab", cmd.src_vocab_path},
                                    {"--tgt-vocab", cmd.tgt_vocab_path},
                                    {"--config", cmd.config_path},
                                    {"-m", cmd.base_path}};
  // Resuming a LoRA run: its base (the stored path, or --base) is read at every start.
  if (cmd.loaded.resumed)
    if (const std::optional<lora_reference> ref = read_lora_reference(*cmd.loaded.resumed, cmd.resume_path))
      inputs.push_back(adapter_base_input(
          cmd.lora_base, cmd.lora_base.empty() ? stored_base_path(*ref, cmd.resume_path) : cmd.lora_base));
  const std::string best = best_path(cmd.output);
  // Found now, not after the run when its checkpoint cannot be written: a folder in their place.
  std::error_code ec;
  if (std::filesystem::is_directory(cmd.output, ec))
    throw usage_error("-o '" + cmd.output + "' is a folder; give -o a file name");
  if (std::filesystem::is_directory(best, ec))
    throw usage_error("'" + best + "', where the best checkpoint of -o '" + cmd.output +
                      "' goes, is a folder; move it or choose another -o");
  // The best checkpoint is written only by a run that validates; then it is locked as -o is.
  const bool validates = !cmd.valid_path.empty();
  const bool lock_output = lockable(cmd.output), lock_best = validates && lockable(best),
             lock_log = lockable(cmd.log_path);
  std::vector<named_path> outputs = {{"-o", cmd.output}, {"the best checkpoint", best}, {"--log", cmd.log_path}};
  // The lock files are written too: none may be an input ('--train corpus.lock -o corpus').
  if (lock_output) outputs.push_back({"the lock file of -o", link_target(cmd.output) + ".lock"});
  if (lock_best) outputs.push_back({"the lock file of the best checkpoint", link_target(best) + ".lock"});
  if (lock_log) outputs.push_back({"the lock file of --log", link_target(cmd.log_path) + ".lock"});
  refuse_overwrite(inputs, outputs);
  // --resume CKPT is read whole before the first save, and -o defaults to it: only the log
  // may not land on it.
  refuse_overwrite({{"--resume", cmd.resume_path}}, {outputs[2]});
  if (cmd.plan) return;  // a plan writes nothing: the checks above, no lock files
  if (lock_output) locks_.push_back(std::make_unique<file_lock>(cmd.output));
  if (lock_best) locks_.push_back(std::make_unique<file_lock>(best));
  if (lock_log) locks_.push_back(std::make_unique<file_lock>(cmd.log_path));
}

std::optional<run_outputs> claim_outputs(const train_command& cmd, progress& out) {
  if (cmd.plan && process_count() > 1)
    throw usage_error("--plan runs in one process, not under mpirun (" + std::to_string(process_count()) +
                      " processes): run it alone, with --accum-steps " + std::to_string(process_count()) +
                      " (times this run's) to plan the same global batch");
  if (process_rank() != 0) {
    out.mute();
    return std::nullopt;
  }
  return std::optional<run_outputs>(std::in_place, cmd);
}

}  // namespace attn::cli
