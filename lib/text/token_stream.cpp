#include "text/token_stream.h"

#include <charconv>
#include <ostream>
#include <vector>

#include "core/error.h"
#include "text/escape.h"
#include "text/line_reader.h"

namespace attn {

namespace {

// Collects output and writes it in large blocks; checks the stream after each block so a full
// disk stops the run early.
class block_writer {
 public:
  block_writer(std::ostream& out, const std::string& name) : out_(out), name_(name) { buf_.reserve(2 * block); }
  std::string& buffer() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= block) flush();
  }
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
    if (!out_) throw attn::error("error writing '" + name_ + "'");
  }

 private:
  static constexpr std::size_t block = 1 << 16;
  std::ostream& out_;
  const std::string& name_;
  std::string buf_;
};

}  // namespace

stream_counts encode_stream(tokenizer& tok, std::istream& in, std::ostream& out, token_format format,
                            const std::string& in_name, const std::string& out_name) {
  line_reader lines(in, in_name);
  block_writer w(out, out_name);
  std::string& buf = w.buffer();
  std::vector<int32_t> ids;
  stream_counts c;
  std::string_view line;
  while (lines.next(line)) {
    ids.clear();
    tok.encode(line, ids);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) buf.push_back(' ');
      if (format == token_format::ids) {
        char num[12];
        const auto r = std::to_chars(num, num + sizeof num, ids[i]);
        buf.append(num, r.ptr);
      } else {
        buf += tok.piece(ids[i]);
      }
      c.unknown += ids[i] == unk_id;
    }
    if (lines.had_newline()) buf.push_back('\n');
    c.tokens += ids.size();
    ++c.lines;
    w.maybe_flush();
  }
  w.flush();
  c.bytes = lines.bytes();
  return c;
}

stream_counts decode_stream(const tokenizer& tok, std::istream& in, std::ostream& out, token_format format,
                            const std::string& in_name, const std::string& out_name) {
  line_reader lines(in, in_name);
  block_writer w(out, out_name);
  std::string& buf = w.buffer();
  std::vector<int32_t> ids;
  std::string why;
  stream_counts c;
  std::string_view line;
  const auto size = static_cast<int64_t>(tok.size());
  auto fail = [&](const std::string& what) {
    throw attn::error("'" + in_name + "' line " + std::to_string(lines.line_number()) + ": " + what);
  };
  while (lines.next(line)) {
    std::size_t pos = 0;
    while (pos < line.size()) {
      if (line[pos] == ' ') {
        ++pos;
        continue;
      }
      std::size_t end = line.find(' ', pos);
      if (end == std::string_view::npos) end = line.size();
      const std::string_view field = line.substr(pos, end - pos);
      pos = end;
      ++c.tokens;
      if (format == token_format::ids) {
        int64_t id = -1;
        const auto r = std::from_chars(field.data(), field.data() + field.size(), id);
        if (r.ec != std::errc() || r.ptr != field.data() + field.size())
          fail("'" + std::string(field.substr(0, 40)) + "' is not a token id (decode pieces with --pieces)");
        if (id < 0 || id >= size)
          fail("token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(size - 1) + ")");
        const auto id32 = static_cast<int32_t>(id);
        c.unknown += id32 == unk_id;
        tok.decode(&id32, 1, buf);
      } else {
        if (field == "<pad>" || field == "<bos>" || field == "<eos>") continue;
        c.unknown += field == "<unk>";
        if (!unescape_token(field, buf, &why)) fail("bad piece '" + std::string(field.substr(0, 40)) + "': " + why);
      }
    }
    if (lines.had_newline()) buf.push_back('\n');
    ++c.lines;
    w.maybe_flush();
  }
  w.flush();
  c.bytes = lines.bytes();
  return c;
}

}  // namespace attn
