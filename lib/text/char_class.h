#pragma once
// Coarse character classes for pre-tokenization. A small hand-written table instead of ICU:
// splitting only has to be consistent between training and encoding, and byte-exact, so the
// classes decide where words break (quality), never what round-trips (correctness).
#include <cstdint>

namespace attn {

enum class char_class : uint8_t {
  space,      // ASCII/Unicode whitespace (never '\n': input is already split into lines)
  letter,     // letters, marks, joiners and everything not listed elsewhere
  digit,      // 0-9 and fullwidth digits
  punct,      // punctuation, symbols, emoji, control characters and invalid bytes
  ideograph,  // CJK ideographs and kana: languages written without spaces
};

// cp as returned by utf8_decode (invalid bytes are >= invalid_byte_base and classify as punct).
char_class classify(uint32_t cp);

}  // namespace attn
