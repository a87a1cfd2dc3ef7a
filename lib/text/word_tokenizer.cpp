#include "text/word_tokenizer.h"

#include "text/char_class.h"
#include "text/pretokenize.h"
#include "text/utf8.h"

namespace attn {

word_tokenizer::word_tokenizer(vocab v) : tokenizer(std::move(v)) { space_id_ = lookup(" "); }

int32_t word_tokenizer::lookup(std::string_view token) const {
  const int32_t id = ids_.find(token);
  return id >= vocab_.num_specials ? id : unk_id;
}

void word_tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) {
  word_splitter words(text, split_mode::word);
  std::string_view w;
  while (words.next(w)) {
    const int32_t id = lookup(w);
    if (id != unk_id) {
      out.push_back(id);
      continue;
    }
    uint32_t cp;
    const int n = utf8_decode(w.data(), w.data() + w.size(), cp);
    if (classify(cp) == char_class::space && w.size() > static_cast<std::size_t>(n)) {
      // Splitter output starting with whitespace and longer than one character is either a
      // whitespace run or " word": in both cases its first character stands alone.
      const std::string_view rest = w.substr(n);
      uint32_t cp2;
      utf8_decode(rest.data(), rest.data() + rest.size(), cp2);
      if (classify(cp2) == char_class::space) {
        for (std::size_t i = 0; i < w.size();) {
          const int m = utf8_decode(w.data() + i, w.data() + w.size(), cp);
          out.push_back(lookup(w.substr(i, m)));
          i += m;
        }
      } else if (space_id_ != unk_id) {
        out.push_back(space_id_);
        out.push_back(lookup(rest));
      } else {
        out.push_back(unk_id);  // one <unk> for the word rather than two
      }
      continue;
    }
    out.push_back(unk_id);
  }
}

}  // namespace attn
