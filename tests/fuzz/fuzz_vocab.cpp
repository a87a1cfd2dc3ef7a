// The vocabulary reader (text/vocab_file.h).
// mode & 1 = 0: read_vocab on the payload as a stream; 1: load_vocab on a temporary file.
// Asserts: every input is read or rejected with attn::error; a vocabulary that is read makes a
// tokenizer without complaint (the reader promises check_vocab passed), which keeps the
// round-trip promises on a few fixed lines and on the payload's first line; and write_vocab
// of it reads back to the same vocabulary.
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "fuzz_common.h"
#include "fuzz_vocabs.h"
#include "text/vocab_file.h"

using namespace attn;

namespace {

bool same(const vocab& a, const vocab& b) {
  return a.kind == b.kind && a.lowercase == b.lowercase && a.num_specials == b.num_specials && a.tokens == b.tokens &&
         a.counts == b.counts && a.merges == b.merges;
}

vocab read(const fuzz::input& in) {
  if (!(in.mode & 1)) {
    std::istringstream s{std::string(in.payload)};
    return read_vocab(s, "fuzz.vocab");
  }
  static const fuzz::temp_file file("vocab");
  {
    std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
    out.write(in.payload.data(), static_cast<std::streamsize>(in.payload.size()));
    if (!out) fuzz::finding("cannot write " + file.path);
  }
  return load_vocab(file.path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::input in = fuzz::split_input(data, size);
  vocab v;
  try {
    v = read(in);
  } catch (const attn::error&) {
    return 0;
  } catch (const std::exception& e) {
    fuzz::finding(fuzz::unexpected("read_vocab", e));
  }

  std::ostringstream written;
  write_vocab(v, written);
  vocab back;
  try {
    std::istringstream s(written.str());
    back = read_vocab(s, "written.vocab");
  } catch (const std::exception& e) {
    fuzz::finding(std::string("write_vocab output of an accepted vocabulary is rejected: ") + e.what());
  }
  fuzz::require(same(v, back), "write_vocab then read_vocab changes the vocabulary");

  std::unique_ptr<tokenizer> tok;
  try {
    tok = make_tokenizer(v);
  } catch (const std::exception& e) {
    fuzz::finding(std::string("an accepted vocabulary makes no tokenizer: ") + e.what());
  }
  const std::string name = std::string("read vocab (") + kind_name(v.kind) + ")";
  for (const auto& line : fuzz::corpus_lines()) fuzz::check_line(name, v.kind, v.lowercase, *tok, line);
  const std::string_view first = in.payload.substr(0, std::min<std::size_t>(in.payload.find('\n'), 256));
  fuzz::check_line(name, v.kind, v.lowercase, *tok, first);
  return 0;
}
