// What a checkpoint carries besides tensors: vocabularies by role, labels, step, lineage, read
// and written by one pair of functions.
#include "models/checkpoint_record.h"

#include <doctest/doctest.h>

#include "core/error.h"
#include "text/vocab.h"

using namespace attn;

namespace {

std::unique_ptr<tokenizer> char_tokenizer(const std::string& extra) {
  vocab v = make_special_vocab(tokenizer_kind::char_level, {});
  for (char c : extra) {
    v.tokens.push_back(std::string(1, c));
    v.counts.push_back(1);
  }
  return make_tokenizer(v);
}

}  // namespace

TEST_CASE("labels: one split for every reader, a trailing empty field included") {
  CHECK(split_labels("") == std::vector<std::string>{});
  CHECK(split_labels("pos") == std::vector<std::string>{"pos"});
  CHECK(split_labels("neg\tpos") == std::vector<std::string>{"neg", "pos"});
  CHECK(split_labels("neg\tpos\t") == std::vector<std::string>{"neg", "pos", ""});
  CHECK(split_labels("\tneg") == std::vector<std::string>{"", "neg"});
  for (const std::vector<std::string>& labels : std::vector<std::vector<std::string>>{
           {"a", "b"}, {"a", "b", ""}, {"", "b"}, {"", ""}, {"x y", "z", "w"}}) {
    CHECK(split_labels(join_labels(labels)) == labels);
  }
}

TEST_CASE("write_checkpoint_record -> read_checkpoint_record: a shared vocabulary, labels, lineage") {
  checkpoint_record r;
  r.src = char_tokenizer("abc");
  r.labels = {"neg", "pos", ""};
  r.lineage.finetuned_from = "base.ckpt";
  r.lineage.finetuned_from_step = 40;
  checkpoint c;
  c.counters["step"] = 7;
  write_checkpoint_record(r, c);
  CHECK(c.vocabularies.size() == 1);
  CHECK(c.vocabularies.count("shared") == 1);
  CHECK(c.metadata.at("labels") == "neg\tpos\t");
  CHECK(c.metadata.at("finetuned_from") == "base.ckpt");
  CHECK(c.metadata.at("finetuned_from_step") == "40");

  const checkpoint_record back = read_checkpoint_record(c, "x.ckpt");
  REQUIRE(back.src);
  CHECK(!back.tgt_own);
  CHECK(&back.tgt() == back.src.get());
  CHECK(back.src->size() == r.src->size());
  CHECK(back.labels == r.labels);
  CHECK(back.step == 7);
  CHECK(back.lineage.finetuned_from == "base.ckpt");
  CHECK(back.lineage.finetuned_from_step == 40);
  CHECK(vocabulary_texts(back) == c.vocabularies);
}

TEST_CASE("read_checkpoint_record: src and tgt roles; a bare checkpoint; a damaged vocabulary") {
  checkpoint_record r;
  r.src = char_tokenizer("ab");
  r.tgt_own = char_tokenizer("xyz");
  checkpoint c;
  write_checkpoint_record(r, c);
  CHECK(c.vocabularies.count("src") == 1);
  CHECK(c.vocabularies.count("tgt") == 1);
  CHECK(c.metadata.count("labels") == 0);
  CHECK(c.metadata.count("finetuned_from") == 0);
  const checkpoint_record back = read_checkpoint_record(c, "x.ckpt");
  REQUIRE(back.tgt_own);
  CHECK(back.tgt().size() == r.tgt_own->size());
  CHECK(back.src->size() == r.src->size());
  CHECK(!back.step);

  const checkpoint_record bare = read_checkpoint_record(checkpoint{}, "bare.ckpt");
  CHECK(!bare.src);
  CHECK(bare.labels.empty());
  CHECK(bare.lineage.finetuned_from.empty());

  checkpoint damaged;
  damaged.vocabularies["shared"] = "not a vocabulary";
  CHECK_THROWS_WITH_AS(read_checkpoint_record(damaged, "d.ckpt"), doctest::Contains("d.ckpt (shared vocabulary)"),
                       error);
}
