#include "eval/text.h"

#include "core/error.h"
#include "text/utf8.h"

namespace attn {

bool is_python_space(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

namespace {

// Calls f(begin, length, is_space) for every UTF-8 unit of s (invalid bytes are units of one).
template <typename F>
void for_each_unit(std::string_view s, F f) {
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    uint32_t cp;
    const int n = utf8_decode(p, end, cp);
    f(static_cast<std::size_t>(p - s.data()), static_cast<std::size_t>(n), is_python_space(cp));
    p += n;
  }
}

}  // namespace

std::string_view rstrip_space(std::string_view s) {
  std::size_t keep = 0;
  for_each_unit(s, [&](std::size_t at, std::size_t n, bool space) {
    if (!space) keep = at + n;
  });
  return s.substr(0, keep);
}

std::vector<std::string_view> split_space(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t start = std::string_view::npos;
  for_each_unit(s, [&](std::size_t at, std::size_t n, bool space) {
    if (space) {
      if (start != std::string_view::npos) words.push_back(s.substr(start, at - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = at;
    }
    (void)n;
  });
  if (start != std::string_view::npos) words.push_back(s.substr(start));
  return words;
}

std::string remove_space(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_unit(s, [&](std::size_t at, std::size_t n, bool space) {
    if (!space) out.append(s.data() + at, n);
  });
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  utf8_lowercase(s, out);
  return out;
}

std::vector<std::string_view> line_references(const std::vector<std::vector<std::string>>& refs, std::size_t i) {
  std::vector<std::string_view> out;
  for (const auto& stream : refs) {
    if (i >= stream.size()) throw error("a reference stream has fewer lines than the hypotheses");
    if (!stream[i].empty()) out.push_back(stream[i]);
  }
  if (out.empty()) throw error("line " + std::to_string(i + 1) + " has no reference: every reference line is empty");
  return out;
}

}  // namespace attn
