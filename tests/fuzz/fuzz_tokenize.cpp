// Tokenize / detokenize (text/tokenizer.h) with the fixed vocabularies of fuzz_vocabs.h.
// mode % cases picks the tokenizer; the payload is cut at '\n' into lines (encode takes one
// line), each encoded twice (the second time from the BPE word cache).
// Asserts, per docs/tokenization.md "Round-trip guarantee":
//   - ids are in the vocabulary and never <pad>, <bos>, <eos>; bpe never gives <unk>;
//   - the second encoding equals the first;
//   - bpe without lowercasing: decode(encode(x)) == x for every line, whatever its bytes;
//   - char, word without lowercasing: the same whenever the encoding holds no <unk>;
// and decoding arbitrary ids (the payload read as 16-bit numbers) either works or throws
// attn::error.
#include <cstring>
#include <vector>

#include "core/error.h"
#include "fuzz_common.h"
#include "fuzz_vocabs.h"

using namespace attn;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::input in = fuzz::split_input(data, size);
  const auto& cases = fuzz::tokenizer_cases();
  const std::size_t which = in.mode % cases.size();
  tokenizer& tok = fuzz::fuzz_tokenizer(which);

  std::string_view rest = in.payload;
  for (;;) {
    const std::size_t nl = rest.find('\n');
    fuzz::check_line(cases[which].name, cases[which].kind, cases[which].lowercase, tok, rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }

  std::vector<int32_t> ids;
  for (std::size_t i = 0; i + 1 < in.payload.size(); i += 2) {
    std::int16_t x;
    std::memcpy(&x, in.payload.data() + i, 2);
    ids.push_back(x);
  }
  std::string out;
  try {
    tok.decode(ids, out);
  } catch (const attn::error&) {
  } catch (const std::exception& e) {
    fuzz::finding(fuzz::unexpected("decode", e));
  }
  return 0;
}
