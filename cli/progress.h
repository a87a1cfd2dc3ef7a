#pragma once
// What `attn train` and `attn finetune` show while they run: on a terminal one status line redrawn in place on
// stderr (step, epoch, loss, LR, tokens/s, ETA); otherwise a plain line every --log-every steps.
// Validation results, notes and warnings are always whole lines. csv_log writes the metrics.
#include <chrono>
#include <fstream>
#include <map>
#include <string>

#include "train/loop.h"

namespace attn::cli {

class progress {
 public:
  // command: the subcommand named at the start of every line ("attn train: ...").
  progress(bool quiet, std::int64_t log_every, const std::string& command = "train");
  void config(const std::map<std::string, std::string>& values);  // the resolved options, once
  void note(const std::string& msg);                              // informational (hidden by --quiet)
  void warn(const std::string& msg);                              // always shown
  void event(const train_event& e, const train_options& opts);
  void done();  // ends a status line left on the terminal

 private:
  void line(const std::string& msg);
  using clock = std::chrono::steady_clock;
  std::string prefix_;  // "attn train: "
  bool quiet_, tty_, status_shown_ = false;
  std::int64_t log_every_;
  clock::time_point last_draw_{};
  double loss_avg_ = 0;  // mean loss since the last plain line
  std::int64_t loss_n_ = 0;
  std::int64_t first_step_ = -1;  // step before this run's first update (for the ETA)
};

// CSV, one row per step and per validation (split = train | valid), appended when the file
// exists (a resumed run continues its log); "-" = stdout. A log is the one output that is
// appended line by line rather than replaced atomically, so that `tail -f` follows it; it is
// never truncated, and run_outputs.h locks it against a second writer.
//   step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,split
class csv_log {
 public:
  explicit csv_log(const std::string& path);
  void event(const train_event& e);
  void close();  // throws attn::error if anything failed to write

 private:
  std::string path_;
  std::ofstream file_;
  std::ostream* out_;
};

}  // namespace attn::cli
