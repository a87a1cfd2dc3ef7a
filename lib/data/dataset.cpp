#include "data/dataset.h"

#include <algorithm>

#include "core/error.h"
#include "text/line_reader.h"
#include "text/utf8.h"

namespace attn {

namespace {

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Counts one malformed line; throws when strict.
void malformed(const dataset_options& opts, data_report& report, const std::string& name, uint64_t line,
               const std::string& why) {
  const std::string msg = name + ":" + std::to_string(line) + ": " + why;
  if (opts.strict) throw attn::error(msg + " (--strict)");
  if (report.malformed++ == 0) {
    report.first_line = line;
    report.first_why = why;
  }
  if (report.problems.size() < opts.report_lines) report.problems.push_back(msg);
}

// Applies the max_len policy to ids that must end with `keep_last` (e.g. <eos>) when truncated.
// Returns false when the example is to be skipped.
bool fit(std::vector<int32_t>& ids, std::size_t max_len, bool has_eos, const dataset_options& opts, bool& cut) {
  if (ids.size() <= max_len) return true;
  if (opts.too_long == long_policy::skip) return false;
  ids.resize(max_len);
  if (has_eos) ids.back() = eos_id;
  cut = true;
  return true;
}

void read_lm(line_reader& lines, const std::string& name, const dataset_options& opts, tokenizer& tok, dataset& d,
             data_report& report) {
  std::vector<int32_t> stream;
  std::string_view line;
  while (lines.next(line)) {
    ++report.lines;
    if (!utf8_valid(line)) {
      malformed(opts, report, name, lines.line_number(), "invalid UTF-8");
      continue;
    }
    if (blank(line)) continue;
    d.bytes += line.size() + 1;
    tok.encode(line, stream);
    stream.push_back(eos_id);
  }
  const std::size_t T = opts.max_len;
  if (T < 1) throw attn::error("--max-len must be at least 1");
  // Windows of T + 1 tokens starting every T tokens; the last may be shorter (at least 2 tokens).
  for (std::size_t start = 0; start + 1 < stream.size(); start += T) {
    const std::size_t n = std::min(T + 1, stream.size() - start);
    example e;
    e.src.assign(stream.begin() + static_cast<std::ptrdiff_t>(start),
                 stream.begin() + static_cast<std::ptrdiff_t>(start + n - 1));
    e.tgt.assign(stream.begin() + static_cast<std::ptrdiff_t>(start + 1),
                 stream.begin() + static_cast<std::ptrdiff_t>(start + n));
    d.lengths.push_back(e.src.size());
    d.examples.push_back(std::move(e));
  }
}

void read_tsv(line_reader& lines, const std::string& name, const dataset_options& opts, tokenizer& src, tokenizer& tgt,
              std::vector<std::string>& labels, dataset& d, data_report& report) {
  const bool labeled = opts.format == data_format::labeled;
  std::string_view line;
  while (lines.next(line)) {
    ++report.lines;
    const uint64_t no = lines.line_number();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;  // blank lines (e.g. a trailing one) are not examples
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos || line.find('\t', tab + 1) != std::string_view::npos) {
      malformed(opts, report, name, no,
                std::string("expected 2 tab-separated fields (") + (labeled ? "label, text" : "source, target") +
                    "), found " + std::to_string(std::count(line.begin(), line.end(), '\t') + 1));
      continue;
    }
    const std::string_view a = line.substr(0, tab), b = line.substr(tab + 1);
    if (!utf8_valid(line)) {
      malformed(opts, report, name, no, "invalid UTF-8");
      continue;
    }
    if (blank(a) || blank(b)) {
      malformed(opts, report, name, no,
                std::string("empty ") + (blank(a) ? (labeled ? "label" : "source") : (labeled ? "text" : "target")));
      continue;
    }
    example e;
    bool cut = false;
    if (labeled) {
      const auto it = std::find(labels.begin(), labels.end(), a);
      if (it == labels.end() && !opts.grow_labels) {
        malformed(opts, report, name, no, "label '" + std::string(a) + "' does not occur in the training data");
        continue;
      }
      e.label = static_cast<int32_t>(it - labels.begin());
      if (it == labels.end()) labels.emplace_back(a);
      e.src.push_back(bos_id);
      src.encode(b, e.src);
      if (!fit(e.src, opts.max_len, false, opts, cut)) {
        ++report.skipped_long;
        continue;
      }
      d.lengths.push_back(e.src.size());
    } else {
      src.encode(a, e.src);
      e.src.push_back(eos_id);
      tgt.encode(b, e.tgt);
      // tgt_in/tgt_out are y plus one special token: y may hold max_len - 1 tokens.
      if (e.tgt.size() + 1 > opts.max_len && opts.too_long == long_policy::skip) {
        ++report.skipped_long;
        continue;
      }
      if (!fit(e.src, opts.max_len, true, opts, cut)) {
        ++report.skipped_long;
        continue;
      }
      if (e.tgt.size() + 1 > opts.max_len) {
        e.tgt.resize(opts.max_len - 1);
        cut = true;
      }
      d.lengths.push_back(std::max(e.src.size(), e.tgt.size() + 1));
    }
    if (cut) ++report.truncated;
    d.examples.push_back(std::move(e));
  }
}

}  // namespace

std::vector<std::string> report_warnings(const data_report& report, const std::string& name, std::size_t max_len) {
  std::vector<std::string> out;
  if (report.malformed > 0) {
    out.push_back(std::to_string(report.malformed) + " malformed line" + (report.malformed > 1 ? "s" : "") + " of " +
                  std::to_string(report.lines) + " in " + name + " skipped:");
    for (const auto& p : report.problems) out.push_back("  " + p);
    if (report.malformed > report.problems.size()) out.push_back("  ...");
  }
  if (report.truncated > 0)
    out.push_back(std::to_string(report.truncated) + " examples in " + name + " truncated to --max-len " +
                  std::to_string(max_len));
  if (report.skipped_long > 0)
    out.push_back(std::to_string(report.skipped_long) + " examples in " + name + " longer than --max-len " +
                  std::to_string(max_len) + " skipped");
  return out;
}

std::string no_examples_message(const data_report& report, const std::string& name, data_format format,
                                std::size_t max_len) {
  std::string out = "'" + name + "' holds no usable examples";
  const std::string shape = format == data_format::lm        ? "text"
                            : format == data_format::labeled ? "label<TAB>text"
                                                             : "source<TAB>target";
  const std::string longer = " longer than --max-len " + std::to_string(max_len);
  const std::size_t bad = report.malformed, lines = report.lines, skipped = report.skipped_long;
  if (bad > 0 && bad == lines)  // every line: most likely a file of another format
    out += lines == 1 ? ": its one line is not usable " + shape
                      : ": none of its " + std::to_string(lines) + " lines is usable " + shape;
  else if (bad > 0)  // the other lines are blank or too long
    out += ": of its " + std::to_string(lines) + " lines, " + std::to_string(bad) + (bad == 1 ? " is" : " are") +
           " malformed" + (skipped > 0 ? " and " + std::to_string(skipped) + longer : "");
  else if (skipped > 0)
    out += skipped == 1 ? ": its one example is" + longer
                        : ": all its " + std::to_string(skipped) + " examples are" + longer;
  if (bad > 0) out += "; line " + std::to_string(report.first_line) + ": " + report.first_why;
  return out;
}

std::size_t dataset::tokens() const {
  if (format == data_format::labeled) return examples.size();
  std::size_t n = 0;
  for (const auto& e : examples) n += format == data_format::lm ? e.tgt.size() : e.tgt.size() + 1;
  return n;
}

dataset read_dataset(std::istream& in, const std::string& name, const dataset_options& opts, tokenizer& src,
                     tokenizer& tgt, std::vector<std::string>& labels, data_report& report) {
  if (opts.max_len < 2 && opts.format != data_format::lm) throw attn::error("--max-len must be at least 2");
  dataset d;
  d.format = opts.format;
  line_reader lines(in, name);
  if (opts.format == data_format::lm)
    read_lm(lines, name, opts, src, d, report);
  else
    read_tsv(lines, name, opts, src, tgt, labels, d, report);
  return d;
}

batch make_batch(const dataset& d, const std::vector<std::size_t>& indices) {
  batch b;
  b.size = indices.size();
  for (std::size_t i : indices) {
    const example& e = d.examples.at(i);
    b.src_len = std::max(b.src_len, e.src.size());
    const std::size_t t = d.format == data_format::lm      ? e.tgt.size()
                          : d.format == data_format::pairs ? e.tgt.size() + 1
                                                           : 0;
    b.tgt_len = std::max(b.tgt_len, t);
  }
  b.src.assign(b.size * b.src_len, pad_id);
  b.tgt_in.assign(b.size * b.tgt_len, pad_id);
  b.tgt_out.assign(b.size * b.tgt_len, pad_id);
  for (std::size_t k = 0; k < b.size; ++k) {
    const example& e = d.examples[indices[k]];
    std::copy(e.src.begin(), e.src.end(), b.src.begin() + static_cast<std::ptrdiff_t>(k * b.src_len));
    b.src_lengths.push_back(static_cast<int32_t>(e.src.size()));
    int32_t* in = b.tgt_in.data() + k * b.tgt_len;
    int32_t* out = b.tgt_out.data() + k * b.tgt_len;
    switch (d.format) {
      case data_format::lm:
        std::copy(e.src.begin(), e.src.end(), in);
        std::copy(e.tgt.begin(), e.tgt.end(), out);
        b.tgt_lengths.push_back(static_cast<int32_t>(e.tgt.size()));
        break;
      case data_format::pairs:
        in[0] = bos_id;
        std::copy(e.tgt.begin(), e.tgt.end(), in + 1);
        std::copy(e.tgt.begin(), e.tgt.end(), out);
        out[e.tgt.size()] = eos_id;
        b.tgt_lengths.push_back(static_cast<int32_t>(e.tgt.size() + 1));
        break;
      case data_format::labeled:
        b.labels.push_back(e.label);
        break;
    }
  }
  return b;
}

}  // namespace attn
