#include "viz/training_log.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/error.h"

namespace attn::viz {

namespace {

// The fields of one CSV line. attn's logs never quote (numbers and two words), but a quoted field
// is read as CSV says, so a log edited in a spreadsheet still reads.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

training_log read_training_log(std::istream& in, const std::string& name) {
  training_log log;
  log.label = name;
  std::string line;
  if (!std::getline(in, line)) throw error("'" + name + "' is not an attn training log: it is empty");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::map<std::string, std::size_t> column;
  const std::vector<std::string> header = csv_fields(line);
  for (std::size_t i = 0; i < header.size(); ++i) column.emplace(header[i], i);
  for (const char* needed : {"step", "loss", "split"})
    if (column.count(needed) == 0)
      throw error("'" + name + "' is not an attn training log: no '" + needed +
                  "' column (attn train --log writes step,epoch,loss,lr,...,split)");

  // (column, split) -> metric name
  struct source {
    const char* column;
    const char* split;
    const char* metric;
  };
  const source sources[] = {{"loss", "train", "train loss"},
                            {"lr", "train", "lr"},
                            {"tokens_per_s", "train", "tokens/s"},
                            {"loss", "valid", "valid loss"},
                            {"perplexity", "valid", "valid perplexity"},
                            {"accuracy", "valid", "valid accuracy"},
                            {"bits_per_byte", "valid", "valid bits per byte"}};
  const std::size_t step_at = column["step"], split_at = column["split"];
  std::size_t number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> f = csv_fields(line);
    const auto value = [&](std::size_t at, const char* what, double& v) {
      if (at >= f.size() || f[at].empty()) return false;
      char* end = nullptr;
      errno = 0;
      v = std::strtod(f[at].c_str(), &end);
      if (end != f[at].c_str() + f[at].size() || errno == ERANGE || !std::isfinite(v))
        throw error("'" + name + "' line " + std::to_string(number) + ": " + what + " '" + f[at] + "' is not a number");
      return true;
    };
    double step = 0;
    if (!value(step_at, "step", step)) continue;
    const std::string split = split_at < f.size() ? f[split_at] : "";
    for (const source& s : sources) {
      if (split != s.split) continue;
      const auto c = column.find(s.column);
      double v = 0;
      if (c == column.end() || !value(c->second, s.column, v)) continue;
      series& out = log.metrics[s.metric];
      out.step.push_back(step);
      out.value.push_back(v);
    }
  }
  return log;
}

}  // namespace attn::viz
