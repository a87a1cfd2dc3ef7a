#pragma once
// Shared helpers for the text tests: building vocabularies from lines and random byte strings.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "text/vocab_builder.h"

namespace attn::test {

inline vocab build_vocab(tokenizer_kind kind, std::size_t size, const std::vector<std::string>& lines,
                         std::vector<std::string> specials = {}, bool lowercase = false) {
  vocab_options o;
  o.kind = kind;
  o.size = size;
  o.specials = std::move(specials);
  o.lowercase = lowercase;
  vocab_builder b(o);
  for (const auto& l : lines) b.add(l);
  return b.build();
}

// Random bytes, biased towards spaces, ASCII letters and multi-byte UTF-8 so that splitting and
// merging are exercised, but any byte (NUL, '\r', invalid UTF-8) can appear.
inline std::string random_bytes(std::mt19937_64& rng, std::size_t max_len) {
  static const char* const pieces[] = {" ",
                                       "  ",
                                       "\t",
                                       "\r",
                                       "e",
                                       "th",
                                       "a",
                                       "Z",
                                       "9",
                                       ",",
                                       ".",
                                       "\xC3\xA9",
                                       "\xE6\x97\xA5\xE6\x9C\xAC",
                                       "\xF0\x9F\x98\x80",
                                       "\xE2\x96\x81",
                                       "\\",
                                       ""};
  std::string s;
  const std::size_t len = rng() % (max_len + 1);
  while (s.size() < len) {
    if (rng() % 3 == 0) {
      char c = static_cast<char>(rng() % 256);
      if (c == '\n') c = 'n';
      s.push_back(c);
    } else {
      const char* p = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
      if (*p)
        s += p;
      else
        s.push_back('\0');  // "" stands for NUL, which a C string cannot hold
    }
  }
  return s;
}

// Text lines that cover the edge cases every tokenizer must round-trip.
inline std::vector<std::string> edge_lines() {
  return {"",
          " ",
          "   ",
          "hello world",
          "  leading and trailing  ",
          "multiple   spaces\tand\ttabs",
          "carriage return\r",
          "\r\r",
          std::string("nul\0byte", 8),
          "invalid \xFF\xFE utf-8 \xC3 and \xE2\x82",
          "overlong \xC0\xAF surrogate \xED\xA0\x80",
          "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!",
          "CJK \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87",
          "French: l'\xC3\xA9t\xC3\xA9, \xC3\xA7"
          "a va\xC2\xA0!",
          "sentencepiece mark \xE2\x96\x81 in text",
          "back\\slash \\x41 \\t",
          "<unk> <pad> literal specials",
          "a",
          "\t"};
}

}  // namespace attn::test
