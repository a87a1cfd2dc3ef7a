#pragma once
// What `attn train` and `attn finetune` show while they run: on a terminal one status line redrawn in place on
// stderr (step, epoch, loss, LR, tokens/s, ETA); otherwise a plain line every --log-every steps.
// Validation results, notes and warnings are always whole lines. csv_log writes the metrics.
#include <chrono>
#include <cstddef>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <streambuf>
#include <string>
#include <vector>

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
  // Nothing at all from here on, warnings included: the ranks of a data-parallel run other
  // than 0 (their errors reach stderr through the dispatcher).
  void mute() { quiet_ = muted_ = true; }

 private:
  void line(const std::string& msg);
  using clock = std::chrono::steady_clock;
  std::string prefix_;  // "attn train: "
  bool quiet_, tty_, status_shown_ = false, muted_ = false;
  std::int64_t log_every_;
  clock::time_point last_draw_{};
  double loss_avg_ = 0;  // mean loss since the last plain line
  std::int64_t loss_n_ = 0;
  std::int64_t first_step_ = -1;  // step before this run's first update (for the ETA)
};

// The progress of a command that streams input lines (tokenize, decode, attention, eval): on a
// terminal, one line "attn decode: 12000 lines, 2100 lines/s" rewritten in place on stderr, first
// shown after 1 s (a short run shows nothing), at most 4 times a second, and cleared by done() (or
// on destruction, so an error message starts on a clean line). Shown only when `shown` is true:
// give it show_lines_progress(...).
class lines_progress {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds first_after{1000}, every{250};

  // unit: what is counted ("lines"; eval's scoring: "examples"). start: when the command began.
  lines_progress(const std::string& command, bool shown, std::ostream& out = std::cerr,
                 clock::time_point start = clock::now(), const std::string& unit = "lines");
  ~lines_progress();
  lines_progress(const lines_progress&) = delete;
  lines_progress& operator=(const lines_progress&) = delete;

  void update(std::size_t lines_done) { update(lines_done, clock::now()); }
  void update(std::size_t lines_done, clock::time_point now);
  void done();  // clears a line left on the terminal
  // update() as a callback for the library (translate, attend); empty when nothing is shown.
  std::function<void(std::size_t)> callback();
  bool shown() const { return shown_; }
  clock::time_point start() const { return start_; }

  // "attn decode: 12000 lines, 2100 lines/s" (the rate left out before any time has passed).
  static std::string text(const std::string& command, std::size_t lines, double seconds,
                          const std::string& unit = "lines");

 private:
  std::string command_, unit_;
  bool shown_, drawn_ = false;
  std::ostream& out_;
  clock::time_point start_, last_draw_{};
};

// Whether a streaming command shows its progress line: not with -q, only when stderr is a terminal,
// and not when its output ("-" = stdout) goes to that terminal too, where the line would run into it.
bool show_lines_progress(bool quiet, const std::string& output_path);

// An input stream that reads through `in` and reports to p how many lines it has read (counted
// as each block arrives), for commands whose library call takes a whole stream (tokenize, eval).
class counted_input {
 public:
  counted_input(std::istream& in, lines_progress& p);
  ~counted_input();
  std::istream& stream() { return stream_; }

 private:
  class buffer;
  std::unique_ptr<buffer> buf_;
  std::istream stream_;
};

// CSV, one row per step and per validation (split = train | valid), appended when the file
// exists (a resumed run continues its log); "-" = stdout:
//   step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,bits_per_byte,split
// A log is the one output appended row by row rather than replaced atomically, so that `tail -f`
// follows it: each row is one write(), the file is never truncated, and run_outputs.h locks it
// against a second writer. Resuming at step S first drops the rows after S that the interrupted
// run wrote (they are redone), rewriting the file atomically, so every step appears once.
class csv_log {
 public:
  // resumed_step: the step of the checkpoint a resumed run starts from; -1 for a fresh run.
  csv_log(const std::string& path, std::int64_t resumed_step);
  ~csv_log();
  csv_log(const csv_log&) = delete;
  csv_log& operator=(const csv_log&) = delete;
  void event(const train_event& e);
  void close();  // throws attn::error if the file could not be written (naming why)

 private:
  void write(const std::string& rows);
  std::string path_;
  int fd_ = -1;
};

}  // namespace attn::cli
