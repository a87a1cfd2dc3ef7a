// The vocab and tokenize subcommands in-process: argv arrays in, exit codes and files out.
#include <doctest/doctest.h>

#include "commands.h"
#include "test_helpers.h"
#include "text/vocab_file.h"

using attn::cli::dispatch;
using attn::testing::read_file;

TEST_CASE("vocab then tokenize then decode, through files") {
  attn::testing::temp_dir t;
  const std::string text = "The cat sat.\n  On the\tmat \r\n\xF0\x9F\x98\x80 \xFF last";
  const std::string in = t.write("in.txt", text);
  const std::string v = t.path("v.vocab"), ids = t.path("ids.txt"), back = t.path("back.txt");
  REQUIRE(dispatch({"vocab", "--type", "bpe", "--size", "300", "-q", "-o", v, in}) == 0);
  CHECK(attn::load_vocab(v).size() <= 300);
  REQUIRE(dispatch({"tokenize", "-v", v, "-o", ids, in}) == 0);
  REQUIRE(dispatch({"tokenize", "-v", v, "--decode", "-o", back, ids}) == 0);
  CHECK(read_file(back) == text);
}

TEST_CASE("usage errors exit 2, runtime failures exit 1") {
  attn::testing::temp_dir t;
  const std::string in = t.write("in.txt", "a b c\n");
  const std::string v = t.path("v.vocab");
  CHECK(dispatch({"vocab", "--type", "bpe", "--size", "300", "-o", v, in, "--frobnicate"}) == 2);
  CHECK(dispatch({"vocab", "--type", "bpe", "--size", "300", in}) == 2);  // no -o
  CHECK(dispatch({"vocab", "--type", "sentencepiece", "--size", "300", "-o", v, in}) == 2);
  CHECK(dispatch({"vocab", "--type", "bpe", "--size", "100", "-o", v, in}) == 2);  // < 260
  CHECK(dispatch({"vocab", "--type", "bpe", "--size", "-5", "-o", v, in}) == 2);
  CHECK(dispatch({"vocab", "--type", "word", "--size", "10", "--column", "0", "-o", v, in}) == 2);
  CHECK(dispatch({"vocab", "--type", "word", "--size", "10", "--special", "<unk>", "-o", v, in}) == 2);
  CHECK(dispatch({"vocab", "--type", "word", "--size", "10", "--min-freq", "0", "-o", v, in}) == 2);
  CHECK(dispatch({"vocab", "--type", "word", "--size", "10", "-o", v, t.path("no-such-file.txt")}) == 1);
  CHECK(dispatch({"vocab", "--type", "word", "--size", "10", "--column", "2", "-o", v, in}) == 1);
  REQUIRE(dispatch({"vocab", "--type", "word", "--size", "10", "-o", v, in}) == 0);
  CHECK(dispatch({"tokenize", in}) == 2);  // no -v
  CHECK(dispatch({"tokenize", "-v", v, "--ids", "--pieces", in}) == 2);
  CHECK(dispatch({"tokenize", "-v", v, in, in}) == 2);
  CHECK(dispatch({"tokenize", "-v", t.path("no-such.vocab"), in}) == 1);
  CHECK(dispatch({"tokenize", "-v", in, in}) == 1);  // not a vocabulary
  CHECK(dispatch({"tokenize", "-v", v, t.path("no-such-input.txt")}) == 1);
  CHECK(dispatch({"tokenize", "-v", v, "--decode", "-o", t.path("out.txt"), in}) == 1);  // text is not ids
  CHECK(dispatch({"tokenize", "--help"}) == 0);
  CHECK(dispatch({"vocab", "--help"}) == 0);
}
