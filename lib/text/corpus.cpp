#include "text/corpus.h"

#include "core/error.h"
#include "text/line_reader.h"

namespace attn {

bool parse_column(const std::string& text, column_spec& out) {
  if (text == "all") {
    out = {0, true};
    return true;
  }
  if (text.empty() || text.size() > 6) return false;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < 1) return false;
  out = {v, false};
  return true;
}

uint64_t add_corpus(vocab_builder& builder, std::istream& in, const std::string& name, const column_spec& column,
                    const std::function<void(uint64_t)>& progress) {
  line_reader lines(in, name);
  std::string_view line;
  uint64_t next_report = uint64_t(4) << 20;
  while (lines.next(line)) {
    if (progress && lines.bytes() >= next_report) {
      progress(lines.bytes());
      next_report += uint64_t(4) << 20;
    }
    if (column.all) {
      std::size_t start = 0;
      while (true) {
        const std::size_t tab = line.find('\t', start);
        builder.add(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
        if (tab == std::string_view::npos) break;
        start = tab + 1;
      }
    } else if (column.index > 0) {
      std::size_t start = 0;
      int field = 1;
      for (; field < column.index; ++field) {
        const std::size_t tab = line.find('\t', start);
        if (tab == std::string_view::npos) break;
        start = tab + 1;
      }
      if (field < column.index)
        throw attn::error("'" + name + "' line " + std::to_string(lines.line_number()) + " has " +
                          std::to_string(field) + " tab-separated field" + (field == 1 ? "" : "s") + ", but --column " +
                          std::to_string(column.index) + " was asked for");
      const std::size_t tab = line.find('\t', start);
      builder.add(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    } else {
      builder.add(line);
    }
  }
  return lines.bytes();
}

}  // namespace attn
