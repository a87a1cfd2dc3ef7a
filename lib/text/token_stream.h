#pragma once
// Whole streams through a tokenizer, one output line per input line, in order.
//   ids:    "17 4 250"            (decimal ids separated by one space)
//   pieces: "▁Hello ▁world !"     (escape_token forms separated by one space)
// An empty line stays empty. The stream's end is mirrored: if the input's last line has no
// '\n', neither has the output's last line, so encode | decode reproduces a file byte for byte
// with no marker to strip (the absence of the final newline is itself the signal).
#include <cstdint>
#include <iosfwd>
#include <string>

#include "text/tokenizer.h"

namespace attn {

enum class token_format { ids, pieces };

struct stream_counts {
  uint64_t lines = 0;
  uint64_t tokens = 0;
  uint64_t unknown = 0;  // <unk> produced (encode) or read (decode)
  uint64_t bytes = 0;    // input bytes read
};

// Names are for messages. Both throw attn::error on bad input (with its line) or a write error.
stream_counts encode_stream(tokenizer& tok, std::istream& in, std::ostream& out, token_format format,
                            const std::string& in_name, const std::string& out_name);
stream_counts decode_stream(const tokenizer& tok, std::istream& in, std::ostream& out, token_format format,
                            const std::string& in_name, const std::string& out_name);

}  // namespace attn
