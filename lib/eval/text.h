#pragma once
// Lines as sacrebleu (Python 3) sees them: what counts as whitespace for str.split() and
// str.rstrip(), and lowercasing. The metrics must agree with sacrebleu on these to the byte, so
// they are written out here instead of using <cctype> (which knows only ASCII).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

// Python's str.isspace(): \t \n \v \f \r, U+001C..U+001F, space, U+0085, U+00A0, U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
bool is_python_space(uint32_t cp);

// s without trailing whitespace (Python's s.rstrip()).
std::string_view rstrip_space(std::string_view s);

// The words of s (Python's s.split()): maximal runs of non-whitespace, as views into s.
std::vector<std::string_view> split_space(std::string_view s);

// s with every whitespace character removed (Python's ''.join(s.split())).
std::string remove_space(std::string_view s);

// s lowercased with the simple case map of text/utf8.h (ASCII, Latin-1, Latin Extended-A, Greek,
// Cyrillic). Python's str.lower() is full Unicode; the two agree on those scripts except for
// the handful of special cases (final sigma, U+0130) that the simple map leaves out.
std::string lowercase(std::string_view s);

// The references of line i (0-based) from parallel reference streams refs[k][i], leaving out
// empty ones: sacrebleu lets a line have fewer references that way. Throws attn::error when all
// of them are empty (sacrebleu: "Empty or `None` reference sentence found") or a stream is short.
std::vector<std::string_view> line_references(const std::vector<std::vector<std::string>>& refs, std::size_t i);

}  // namespace attn
