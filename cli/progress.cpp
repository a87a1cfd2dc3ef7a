#include "progress.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "options.h"

namespace attn::cli {

namespace {

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<long long>(s + 0.5);
  char buf[48];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, t / 60 % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  return buf;
}

}  // namespace

progress::progress(bool quiet, std::int64_t log_every, const std::string& command)
    : prefix_("attn " + command + ": "), quiet_(quiet), tty_(stderr_is_terminal()), log_every_(log_every) {}

void progress::line(const std::string& msg) {
  std::cerr << (status_shown_ ? "\r\x1b[K" : "") << prefix_ << msg << "\n";
  status_shown_ = false;
}

void progress::config(const std::map<std::string, std::string>& values) {
  if (quiet_) return;
  std::string s = "config:";
  for (const auto& [k, v] : values) s += " " + k + "=" + (v.empty() ? "''" : v);
  line(s);
}

void progress::note(const std::string& msg) {
  if (!quiet_) line(msg);
}

void progress::warn(const std::string& msg) {
  line(msg);
}

void progress::event(const train_event& e, const train_options& opts) {
  if (quiet_) return;
  const train_state& s = *e.state;
  switch (e.kind) {
    case train_event_kind::step: {
      if (first_step_ < 0) first_step_ = s.step - 1;
      loss_avg_ += e.loss;
      ++loss_n_;
      std::int64_t total = opts.steps;
      if (opts.epochs > 0 && e.epoch_batches > 0) {
        const std::int64_t by_epochs = opts.epochs * e.epoch_batches;
        total = total > 0 ? std::min(total, by_epochs) : by_epochs;
      }
      const double per_step = e.seconds / static_cast<double>(s.step - first_step_);
      const std::string msg = "step " + std::to_string(s.step) + (total > 0 ? "/" + std::to_string(total) : "") +
                              " epoch " + std::to_string(s.epoch + 1) + " loss " + fmt("%.4f", e.loss) + " lr " +
                              fmt("%.3g", e.lr) + " " + fmt("%.0f", e.tokens_per_second) + " tok/s" +
                              (total > 0 ? " ETA " + duration(per_step * static_cast<double>(total - s.step)) : "");
      if (tty_) {
        const auto now = clock::now();
        if (now - last_draw_ < std::chrono::milliseconds(200)) return;
        last_draw_ = now;
        std::cerr << "\r" << prefix_ << msg << "\x1b[K" << std::flush;
        status_shown_ = true;
      } else if (s.step % log_every_ == 0) {
        line(msg + " (mean loss " + fmt("%.4f", loss_avg_ / static_cast<double>(loss_n_)) + ")");
        loss_avg_ = 0;
        loss_n_ = 0;
      }
      break;
    }
    case train_event_kind::validation:
      line("valid at step " + std::to_string(s.step) + ": loss " + fmt("%.4f", e.valid.loss) + " ppl " +
           fmt("%.2f", e.valid.perplexity) + " acc " + fmt("%.4f", e.valid.accuracy) +
           (e.valid.bits_per_byte > 0 ? " bpb " + fmt("%.4f", e.valid.bits_per_byte) : std::string()) +
           (e.improved
                ? " (best)"
                : " (best " + fmt("%.4f", s.best_valid) + " at step " + std::to_string(s.best_valid_step) + ")"));
      break;
    case train_event_kind::saved:
      if (!tty_) line("saved " + e.path + " at step " + std::to_string(s.step));
      break;
    case train_event_kind::epoch_end:
      break;
  }
}

void progress::done() {
  if (status_shown_) std::cerr << "\n";
  status_shown_ = false;
}

csv_log::csv_log(const std::string& path) : path_(path) {
  if (path == "-") {
    out_ = &std::cout;
  } else {
    if (std::filesystem::is_directory(path)) throw attn::error("cannot write log '" + path + "': it is a directory");
    file_.open(path, std::ios::app);
    if (!file_) throw attn::error("cannot write log '" + path + "': " + std::strerror(errno));
    out_ = &file_;
  }
  std::error_code ec;
  const bool fresh = path == "-" || !std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) == 0;
  if (fresh) *out_ << "step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,bits_per_byte,split\n";
}

void csv_log::event(const train_event& e) {
  const train_state& s = *e.state;
  if (e.kind == train_event_kind::step) {
    *out_ << s.step << ',' << s.epoch << ',' << fmt("%.9g", e.loss) << ',' << fmt("%.9g", e.lr) << ',' << e.tokens << ','
         << fmt("%.1f", e.tokens_per_second) << ',' << fmt("%.9g", e.grad_norm) << ",,,,train\n"
         << std::flush;  // readable with tail -f
  } else if (e.kind == train_event_kind::validation) {
    *out_ << s.step << ',' << s.epoch << ',' << fmt("%.9g", e.valid.loss) << ",," << e.valid.tokens << ",,,"
         << fmt("%.9g", e.valid.perplexity) << ',' << fmt("%.9g", e.valid.accuracy) << ','
         << (e.valid.bits_per_byte > 0 ? fmt("%.9g", e.valid.bits_per_byte) : std::string()) << ",valid\n";
  }
}

void csv_log::close() {
  out_->flush();
  if (file_.is_open()) file_.close();
  if (!*out_) throw attn::error("error writing log '" + path_ + "'");
}

}  // namespace attn::cli
