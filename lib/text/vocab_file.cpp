#include "text/vocab_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <ostream>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "text/escape.h"
#include "text/string_table.h"

namespace attn {

namespace {

constexpr uint64_t max_entries = uint64_t(1) << 28;  // far beyond any real vocabulary

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

bool parse_u64(std::string_view s, uint64_t max, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (d > max || v > (max - d) / 10) return false;  // d > max: max - d would wrap (lowercase=2)
    v = v * 10 + d;
  }
  out = v;
  return true;
}

struct line_error {
  const std::string& name;
  uint64_t line;
  [[noreturn]] void operator()(const std::string& what) const {
    throw attn::error("'" + name + "' line " + std::to_string(line) + ": " + what);
  }
};

struct header {
  tokenizer_kind kind;
  uint64_t tokens = 0, specials = 0, merges = 0, lowercase = 0;
};

header parse_header(std::string_view line, const line_error& fail) {
  // An editor's BOM, named rather than reported as "not an attn vocabulary" (CRLF: next_line).
  if (line.substr(0, 3) == "\xEF\xBB\xBF") fail("starts with a UTF-8 byte order mark (BOM); save the file without one");
  const auto f = split(line, ' ');
  if (f[0] != "attn-vocab") fail("not an attn vocabulary (the first line should start with 'attn-vocab')");
  if (f.size() < 2) fail("header has no format version");
  uint64_t version;
  if (!parse_u64(f[1], 1000000, version)) fail("bad format version '" + std::string(f[1]) + "'");
  if (version != vocab_format_version)
    fail("vocabulary format version " + std::to_string(version) + " is not supported (this attn reads version " +
         std::to_string(vocab_format_version) + ")");
  header h;
  if (f.size() < 3 || !parse_kind(std::string(f[2]), h.kind))
    fail("header must name the tokenizer kind (char, word or bpe) after the version");
  bool seen[4] = {false, false, false, false};
  for (std::size_t i = 3; i < f.size(); ++i) {
    const std::size_t eq = f[i].find('=');
    const std::string key(f[i].substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : f[i].substr(eq + 1);
    static const char* const keys[4] = {"tokens", "specials", "merges", "lowercase"};
    uint64_t* const slots[4] = {&h.tokens, &h.specials, &h.merges, &h.lowercase};
    const uint64_t limits[4] = {max_entries, max_entries, max_entries, 1};
    int k = 0;
    while (k < 4 && key != keys[k]) ++k;
    if (k == 4) fail("unknown header field '" + std::string(f[i]) + "'");
    if (seen[k]) fail("header field '" + key + "' appears twice");
    if (eq == std::string_view::npos || !parse_u64(value, limits[k], *slots[k]))
      fail("header field '" + key + "' needs a number up to " + std::to_string(limits[k]));
    seen[k] = true;
  }
  for (int k = 0; k < 4; ++k)
    if (!seen[k])
      fail(std::string("header lacks the field '") +
           (k == 0   ? "tokens"
            : k == 1 ? "specials"
            : k == 2 ? "merges"
                     : "lowercase") +
           "='");
  if (h.specials < fixed_specials || h.specials > h.tokens)
    fail("specials=" + std::to_string(h.specials) + " must be between 4 and tokens=" + std::to_string(h.tokens));
  if (h.kind != tokenizer_kind::bpe && h.merges != 0) fail("only a bpe vocabulary has merges");
  return h;
}

std::string unescape_field(std::string_view field, const char* what, const line_error& fail) {
  std::string out, why;
  if (field.empty()) fail(std::string("empty ") + what);
  if (!unescape_token(field, out, &why)) fail(std::string(what) + " '" + std::string(field) + "': " + why);
  return out;
}

}  // namespace

void write_vocab(const vocab& v, std::ostream& out) {
  out << "attn-vocab " << vocab_format_version << ' ' << kind_name(v.kind) << " tokens=" << v.tokens.size()
      << " specials=" << v.num_specials << " merges=" << v.merges.size() << " lowercase=" << (v.lowercase ? 1 : 0)
      << "\n# id\ttoken\tcount    (token escapes: \xE2\x96\x81 = space, \\t \\n \\r \\\\ \\xHH = byte)\n";
  std::string line;
  for (std::size_t id = 0; id < v.tokens.size(); ++id) {
    line = std::to_string(id);
    line.push_back('\t');
    escape_token(v.tokens[id], line);
    line.push_back('\t');
    line += std::to_string(v.counts[id]);
    line.push_back('\n');
    out << line;
  }
  if (v.kind == tokenizer_kind::bpe) out << "# merges in rank order: rank\tleft\tright\n";
  for (std::size_t r = 0; r < v.merges.size(); ++r) {
    line = std::to_string(r);
    line.push_back('\t');
    escape_token(v.tokens[v.merges[r].first], line);
    line.push_back('\t');
    escape_token(v.tokens[v.merges[r].second], line);
    line.push_back('\n');
    out << line;
  }
}

vocab read_vocab(std::istream& in, const std::string& name) {
  std::string text;
  line_error fail{name, 0};
  auto next_line = [&]() -> bool {
    while (std::getline(in, text)) {
      ++fail.line;
      if (!text.empty() && text.back() == '\r')  // named rather than reported as a bad field
        fail("has Windows (CRLF) line endings; convert them to LF (e.g. dos2unix)");
      if (text.empty() || text[0] != '#') return true;
    }
    if (in.bad()) throw attn::read_error(name);
    return false;
  };
  if (!next_line()) throw attn::error("'" + name + "' is empty, not a vocabulary");
  const header h = parse_header(text, fail);

  vocab v;
  v.kind = h.kind;
  v.lowercase = h.lowercase != 0;
  v.num_specials = static_cast<int32_t>(h.specials);
  string_table ids;
  for (uint64_t id = 0; id < h.tokens; ++id) {
    if (!next_line())
      throw attn::error("'" + name + "' ends after " + std::to_string(id) + " of the " + std::to_string(h.tokens) +
                        " tokens its header announces");
    const auto f = split(text, '\t');
    if (f.size() != 3) fail("expected 3 tab-separated fields (id, token, count), found " + std::to_string(f.size()));
    uint64_t got, count;
    if (!parse_u64(f[0], max_entries, got) || got != id)
      fail("expected token id " + std::to_string(id) + ", found '" + std::string(f[0]) + "'");
    std::string token = unescape_field(f[1], "token", fail);
    if (!parse_u64(f[2], ~uint64_t(0), count)) fail("bad count '" + std::string(f[2]) + "'");
    bool added;
    const int32_t first = ids.insert(token, &added);
    if (!added) fail("token '" + std::string(f[1]) + "' already has id " + std::to_string(first));
    v.tokens.push_back(std::move(token));
    v.counts.push_back(count);
  }
  for (uint64_t r = 0; r < h.merges; ++r) {
    if (!next_line())
      throw attn::error("'" + name + "' ends after " + std::to_string(r) + " of the " + std::to_string(h.merges) +
                        " merges its header announces");
    const auto f = split(text, '\t');
    if (f.size() != 3) fail("expected 3 tab-separated fields (rank, left, right), found " + std::to_string(f.size()));
    uint64_t got;
    if (!parse_u64(f[0], max_entries, got) || got != r)
      fail("expected merge rank " + std::to_string(r) + ", found '" + std::string(f[0]) + "'");
    const int32_t a = ids.find(unescape_field(f[1], "left token", fail));
    const int32_t b = ids.find(unescape_field(f[2], "right token", fail));
    if (a < 0 || b < 0) fail("merge of '" + std::string(a < 0 ? f[1] : f[2]) + "', which is not a token");
    v.merges.emplace_back(a, b);
  }
  if (next_line())
    fail("unexpected line after the " + std::to_string(h.tokens) + " tokens and " + std::to_string(h.merges) +
         " merges the header announces");
  try {
    check_vocab(v);
  } catch (const attn::error& e) {
    throw attn::error("'" + name + "': " + e.what());
  }
  return v;
}

vocab load_vocab(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw attn::error("cannot read vocabulary '" + path + "': it is a directory");
  // A vocabulary is a file: a device or pipe (/dev/zero) would be read without end.
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw attn::error("cannot read vocabulary '" + path + "': not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw attn::error("cannot open vocabulary '" + path + "': " + std::strerror(errno));
  return read_vocab(in, path);
}

}  // namespace attn
