#include "progress.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "io/atomic_file.h"
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
  // one_line: warnings quote data ("label 'x' does not occur"), whose control bytes are shown escaped.
  std::cerr << (status_shown_ ? "\r\x1b[K" : "") << prefix_ << one_line(msg) << "\n";
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
  if (!muted_) line(msg);
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

lines_progress::lines_progress(const std::string& command, bool shown, std::ostream& out, clock::time_point start,
                               const std::string& unit)
    : command_(command), unit_(unit), shown_(shown), out_(out), start_(start) {}

lines_progress::~lines_progress() { done(); }

std::string lines_progress::text(const std::string& command, std::size_t lines, double seconds,
                                 const std::string& unit) {
  std::string s = "attn " + command + ": " + std::to_string(lines) + " " + unit;
  if (seconds > 0) s += ", " + fmt("%.0f", static_cast<double>(lines) / seconds) + " " + unit + "/s";
  return s;
}

void lines_progress::update(std::size_t lines_done, clock::time_point now) {
  if (!shown_ || now - start_ < first_after || (drawn_ && now - last_draw_ < every)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  out_ << "\r" << text(command_, lines_done, seconds, unit_) << "\x1b[K" << std::flush;
  drawn_ = true;
}

void lines_progress::done() {
  if (drawn_) out_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

bool show_lines_progress(bool quiet, const std::string& output_path) {
  return !quiet && stderr_is_terminal() && !(output_path == "-" && ::isatty(STDOUT_FILENO));
}

std::function<void(std::size_t)> lines_progress::callback() {
  if (!shown_) return {};
  return [this](std::size_t lines_done) { update(lines_done); };
}

// Reads blocks from the wrapped stream's buffer and counts their line ends.
class counted_input::buffer : public std::streambuf {
 public:
  buffer(std::streambuf* source, lines_progress& p) : source_(source), progress_(p), block_(1 << 16) {}

 protected:
  int_type underflow() override {
    const std::streamsize n = source_->sgetn(block_.data(), static_cast<std::streamsize>(block_.size()));
    if (n <= 0) return traits_type::eof();
    for (std::streamsize i = 0; i < n; ++i) lines_ += block_[static_cast<std::size_t>(i)] == '\n';
    progress_.update(lines_);
    setg(block_.data(), block_.data(), block_.data() + n);
    return traits_type::to_int_type(block_[0]);
  }

 private:
  std::streambuf* source_;
  lines_progress& progress_;
  std::vector<char> block_;
  std::size_t lines_ = 0;
};

counted_input::counted_input(std::istream& in, lines_progress& p)
    : buf_(std::make_unique<buffer>(in.rdbuf(), p)), stream_(buf_.get()) {}

counted_input::~counted_input() = default;

namespace {

const char* const csv_header =
    "step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,bits_per_byte,split\n";

// An existing log without the rows a resumed run redoes: the rows its interrupted run wrote after
// `step`, its checkpoint's. They are the file's last rows; going back from the end they run while
// their steps are past `step` and do not rise (a rise, going back, is where an earlier run that
// shares the log ended: its rows stay, whatever their steps). The header and anything unparsable
// stop the walk too.
std::string rows_through(const std::string& text, std::int64_t step) {
  std::vector<std::size_t> starts;  // of each row
  for (std::size_t begin = 0; begin < text.size();) {
    starts.push_back(begin);
    const std::size_t end = text.find('\n', begin);
    begin = end == std::string::npos ? text.size() : end + 1;
  }
  std::size_t keep = starts.size();  // rows [0, keep) stay
  long long later = 0;               // the step of the row after, once one was dropped
  while (keep > 0) {
    const char* row = text.c_str() + starts[keep - 1];
    char* stop = nullptr;
    const long long s = std::strtoll(row, &stop, 10);
    if (stop == row || *stop != ',' || s <= step || (keep < starts.size() && s > later)) break;
    later = s;
    --keep;
  }
  std::string kept = text.substr(0, keep < starts.size() ? starts[keep] : text.size());
  if (!kept.empty() && kept.back() != '\n') kept += '\n';
  return kept;
}

}  // namespace

csv_log::csv_log(const std::string& path, std::int64_t resumed_step) : path_(path) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
    write(csv_header);
    return;
  }
  struct stat st;
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw attn::error("cannot write log '" + path + "': it is a directory");
  const bool regular = exists && S_ISREG(st.st_mode);
  // A resumed run redoes the steps after its checkpoint: their rows from the interrupted run
  // are dropped (the file rewritten atomically) so that every step appears once.
  if (regular && resumed_step >= 0) {
    const std::string text = read_file(path);
    const std::string kept = rows_through(text, resumed_step);
    if (kept != text) write_file_atomic(path, kept);
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
  if (fd_ < 0) throw attn::error("cannot write log '" + path + "': " + std::strerror(errno));
  if (::fstat(fd_, &st) != 0 || (S_ISREG(st.st_mode) && st.st_size == 0) || !S_ISREG(st.st_mode)) write(csv_header);
}

csv_log::~csv_log() {
  if (fd_ > STDERR_FILENO) ::close(fd_);
}

void csv_log::write(const std::string& rows) {
  const char* p = rows.data();
  std::size_t n = rows.size();
  while (n > 0) {
    const ssize_t k = ::write(fd_, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) throw attn::error("cannot write log '" + path_ + "': " + std::strerror(errno));
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

void csv_log::event(const train_event& e) {
  const train_state& s = *e.state;
  // One write per row, so `tail -f` never sees half a row.
  if (e.kind == train_event_kind::step) {
    write(std::to_string(s.step) + ',' + std::to_string(s.epoch) + ',' + fmt("%.9g", e.loss) + ',' +
          fmt("%.9g", e.lr) + ',' + std::to_string(e.tokens) + ',' + fmt("%.1f", e.tokens_per_second) + ',' +
          fmt("%.9g", e.grad_norm) + ",,,,train\n");
  } else if (e.kind == train_event_kind::validation) {
    write(std::to_string(s.step) + ',' + std::to_string(s.epoch) + ',' + fmt("%.9g", e.valid.loss) + ",," +
          std::to_string(e.valid.tokens) + ",,," + fmt("%.9g", e.valid.perplexity) + ',' +
          fmt("%.9g", e.valid.accuracy) + ',' +
          (e.valid.bits_per_byte > 0 ? fmt("%.9g", e.valid.bits_per_byte) : std::string()) + ",valid\n");
  }
}

void csv_log::close() {
  if (fd_ > STDERR_FILENO && ::close(fd_) != 0) {
    fd_ = -1;
    throw attn::error("cannot write log '" + path_ + "': " + std::strerror(errno));
  }
  fd_ = -1;
}

}  // namespace attn::cli
