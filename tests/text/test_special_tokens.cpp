#include <doctest/doctest.h>

#include <set>

#include "text/special_tokens.h"
#include "text/vocab.h"

using namespace attn;

TEST_CASE("the named special ids are the positions of their tokens in every vocabulary") {
  for (const tokenizer_kind kind : {tokenizer_kind::char_level, tokenizer_kind::word, tokenizer_kind::bpe}) {
    const vocab v = make_special_vocab(kind, {"<sep>"});
    CHECK(v.tokens[pad_id] == "<pad>");
    CHECK(v.tokens[unk_id] == "<unk>");
    CHECK(v.tokens[bos_id] == "<bos>");
    CHECK(v.tokens[eos_id] == "<eos>");
    CHECK(v.tokens[fixed_specials] == "<sep>");  // user specials follow the fixed ones
    for (const std::int32_t id : {pad_id, unk_id, bos_id, eos_id}) CHECK(v.is_special(id));
  }
  const std::set<std::int32_t> ids = {pad_id, unk_id, bos_id, eos_id};
  CHECK(ids.size() == static_cast<std::size_t>(fixed_specials));
  CHECK(*ids.begin() == 0);
  CHECK(*ids.rbegin() == fixed_specials - 1);
}
