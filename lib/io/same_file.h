#pragma once
// Refusing to write over a command's own input: `attn tokenize -o f f` must not truncate f,
// `attn train --log TRAIN` must not append to the training data. Files are compared by device
// and inode when they exist (so links and different spellings of a path are caught), by their
// canonical path otherwise; "-" stands for stdin (as an input) or stdout (as an output), which
// counts when it is redirected to a regular file (`attn tokenize f >> f`).
#include <string>
#include <vector>

namespace attn {

struct named_path {
  std::string option;  // as the user wrote it, for the message: "-o", "--train"; "" for a positional FILE
  std::string path;    // empty: not given, ignored
};

// "" when every output is a different file from every input and from every other output;
// otherwise one line naming both, e.g. "-o 'f.txt' is the same file as the input 'f.txt'".
// Only regular files (or paths that do not exist yet) can clash: /dev/null in and out is fine.
std::string overwrite_problem(const std::vector<named_path>& inputs, const std::vector<named_path>& outputs);

}  // namespace attn
