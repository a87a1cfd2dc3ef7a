#pragma once
// Small fixed vocabularies for the targets that need tokenizers: char, word and byte-level BPE
// built from the same few lines (ASCII, accents, Greek, CJK, emoji, tabs), each with and without
// user special tokens, plus a lowercasing one. Built once per process.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "text/tokenizer.h"
#include "text/vocab_builder.h"

namespace attn::fuzz {

inline const std::vector<std::string>& corpus_lines() {
  static const std::vector<std::string> lines = {
      "the cat sat on the mat.",
      "The Cat ate 3.14 fish, then slept!",
      "  two  spaces\tand a tab\t",
      "caf\xC3\xA9 na\xC3\xAFve \xCE\xB1\xCE\xB2\xCE\xB3 \xD0\xB4\xD0\xB0",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80 emoji",
      "don't <sep> split <2fr> specials",
      "a\\b \xE2\x96\x81 c\rd",
  };
  return lines;
}

struct tokenizer_case {
  const char* name;
  tokenizer_kind kind;
  std::size_t size;
  bool specials;
  bool lowercase;
};

// The cases, indexed by a mode byte modulo their count.
inline const std::vector<tokenizer_case>& tokenizer_cases() {
  static const std::vector<tokenizer_case> cases = {
      {"char", tokenizer_kind::char_level, 60, false, false},
      {"char+specials", tokenizer_kind::char_level, 60, true, false},
      {"word", tokenizer_kind::word, 40, false, false},
      {"word+specials", tokenizer_kind::word, 40, true, false},
      {"bpe", tokenizer_kind::bpe, 300, false, false},
      {"bpe+specials", tokenizer_kind::bpe, 300, true, false},
      {"bpe+lowercase", tokenizer_kind::bpe, 300, true, true},
      {"char+lowercase", tokenizer_kind::char_level, 60, false, true},
  };
  return cases;
}

inline vocab build_fuzz_vocab(const tokenizer_case& c) {
  vocab_options o;
  o.kind = c.kind;
  o.size = c.size;
  o.lowercase = c.lowercase;
  if (c.specials) o.specials = {"<sep>", "<2fr>"};
  vocab_builder b(o);
  for (const auto& l : corpus_lines()) b.add(l);
  return b.build();
}

// The tokenizer of case i, built on first use.
inline tokenizer& fuzz_tokenizer(std::size_t i) {
  static std::vector<std::unique_ptr<tokenizer>> made(tokenizer_cases().size());
  if (!made[i]) made[i] = make_tokenizer(build_fuzz_vocab(tokenizer_cases()[i]));
  return *made[i];
}

// s with bytes outside printable ASCII (and '\\') as \xHH, for messages.
inline std::string show(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

// The promises of docs/tokenization.md for one line (no '\n'): ids inside the vocabulary and
// never <pad>/<bos>/<eos>; the same ids when encoded again (BPE cache); bpe never <unk>; and
// decode(encode(x)) == x for bpe, and for char/word when there is no <unk> (not lowercasing).
inline void check_line(const std::string& name, tokenizer_kind kind, bool lowercase, tokenizer& tok,
                       std::string_view line) {
  std::vector<int32_t> ids, again;
  tok.encode(line, ids);
  tok.encode(line, again);
  if (ids != again) finding(name + ": encoding '" + show(line) + "' twice differs");
  bool unk = false;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= tok.size())
      finding(name + ": id " + std::to_string(id) + " outside the vocabulary");
    if (id == pad_id || id == bos_id || id == eos_id)
      finding(name + ": encode produced special id " + std::to_string(id) + " for '" + show(line) + "'");
    unk |= id == unk_id;
  }
  if (kind == tokenizer_kind::bpe && unk) finding(name + ": bpe produced <unk> for '" + show(line) + "'");
  if (lowercase || unk) return;  // no round trip promised
  std::string back;
  tok.decode(ids, back);
  if (back != line)
    finding(name + ": decode(encode(x)) != x for x = '" + show(line) + "', got '" + show(back) + "'");
}

}  // namespace attn::fuzz
