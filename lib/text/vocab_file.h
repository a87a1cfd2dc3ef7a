#pragma once
// The vocabulary file: UTF-8 text, one entry per line, readable with less/grep/cut.
//   attn-vocab 1 bpe tokens=262 specials=4 merges=2 lowercase=0
//   # id <TAB> token <TAB> count
//   0	<pad>	0
//   ...
//   # merges in rank order: rank <TAB> left <TAB> right
//   0	▁	t
// Tokens are written with escape_token (text/escape.h). Lines starting with '#' are comments.
// Reading checks everything (header, ids in order, escapes, bounded numbers, counts announced by
// the header, then check_vocab) and names the file and line of the first problem.
#include <iosfwd>
#include <string>

#include "text/vocab.h"

namespace attn {

constexpr int vocab_format_version = 1;

void write_vocab(const vocab& v, std::ostream& out);
vocab read_vocab(std::istream& in, const std::string& name);  // name is for messages

// Reads the file at `path`; throws attn::error naming it. (To save one, write_vocab into an
// atomic file, io/atomic_file.h, as `attn vocab` does: a crash never leaves half a vocabulary.)
vocab load_vocab(const std::string& path);

}  // namespace attn
