#pragma once
// The printable form of a token, used in vocabulary files and in `--pieces` output. It has no
// space, tab or newline, so pieces can be separated by spaces and fields by tabs, and it maps
// back to the exact bytes:
//   ' '  -> "▁" (U+2581, as in sentencepiece)   '\\' -> "\\\\"
//   '\t' -> "\\t"   '\n' -> "\\n"   '\r' -> "\\r"
//   other control characters, invisible Unicode spaces, invalid UTF-8 bytes and a literal
//   "▁" in the text -> "\\xHH" per byte.
// Everything else (printable UTF-8) is written as is.
#include <string>
#include <string_view>

namespace attn {

void escape_token(std::string_view token, std::string& out);  // appends to out
std::string escape_token(std::string_view token);

// Appends the bytes that `text` stands for. Returns false (out unspecified) on a malformed
// escape, with a short reason in *why.
bool unescape_token(std::string_view text, std::string& out, std::string* why);

}  // namespace attn
