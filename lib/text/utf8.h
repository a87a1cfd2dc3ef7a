#pragma once
// UTF-8 decoding that never fails: a byte that does not start a valid, shortest-form sequence
// decodes as itself (a code point above U+10FFFF), so every byte string splits into units that
// concatenate back to the original bytes. Tokenizers depend on that to round-trip invalid text.
#include <cstdint>
#include <string>
#include <string_view>

namespace attn {

// Code points above this stand for one invalid byte: invalid_byte_base + byte.
constexpr uint32_t invalid_byte_base = 0x110000;

// Decodes the unit starting at p (p < end); returns its length in bytes (1..4) and sets cp.
int utf8_decode(const char* p, const char* end, uint32_t& cp);

// True when every unit of text is a valid, shortest-form UTF-8 sequence.
bool utf8_valid(std::string_view text);

// Appends the UTF-8 encoding of cp (or the raw byte for cp >= invalid_byte_base).
void utf8_append(std::string& out, uint32_t cp);

// Appends text with a simple case map (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic) to out.
// Not full Unicode case folding: it needs no tables from ICU and keeps every byte length.
void utf8_lowercase(std::string_view text, std::string& out);

}  // namespace attn
