#include "text/char_tokenizer.h"

#include "text/utf8.h"

namespace attn {

char_tokenizer::char_tokenizer(vocab v) : tokenizer(std::move(v)), direct_(0x3000, unk_id) {
  // Latin, Greek, Cyrillic and the other alphabets below U+3000 skip the hash table.
  std::string s;
  for (uint32_t cp = 0; cp < direct_.size(); ++cp) {
    s.clear();
    utf8_append(s, cp);
    const int32_t id = ids_.find(s);
    if (id >= vocab_.num_specials) direct_[cp] = id;
  }
}

void char_tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    uint32_t cp;
    const int n = utf8_decode(p, end, cp);
    if (cp < direct_.size()) {
      out.push_back(direct_[cp]);
    } else {
      const int32_t id = ids_.find(std::string_view(p, n));
      out.push_back(id >= vocab_.num_specials ? id : unk_id);
    }
    p += n;
  }
}

}  // namespace attn
