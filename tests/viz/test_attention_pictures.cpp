// picture_collector: attend_maps' head_maps kept per sentence.
#include <doctest/doctest.h>

#include <sstream>

#include "decode/loaded_helpers.h"
#include "viz/attention_pictures.h"

using namespace attn;

TEST_CASE("picture_collector groups a dump's maps by sentence, owning tokens and weights") {
  loaded_model m = decode_testing::random_model("transformer");
  attend_options o;
  o.kind = "all";
  viz::picture_collector maps;
  std::istringstream in("abc\tde\nfg\tab\n");
  attend_maps(m, in, o, maps.sink());
  const auto& s = maps.sentences();
  REQUIRE(s.size() == 2);
  CHECK(s[0].sentence == 0);
  CHECK(s[1].sentence == 1);
  REQUIRE(s[0].maps.size() == 2 * 3 * 2);  // 2 layers x (encoder, decoder self, cross) x 2 heads
  for (const auto& sentence : s)
    for (const viz::picture_map& p : sentence.maps) {
      CHECK(p.weights.size() == p.query_tokens.size() * p.key_tokens.size());
      CHECK(p.heads == 2);
    }
  const viz::picture_map& cross = s[0].maps.back();
  CHECK(cross.kind == "cross");
  CHECK(cross.query_tokens == std::vector<std::string>{"d", "e", "<eos>"});
  CHECK(cross.key_tokens == std::vector<std::string>{"a", "b", "c", "<eos>"});
  CHECK(cross.title() == "decoder.layers.1.cross_attn (cross) layer 1 head 1");
  viz::picture_map mean = cross;
  mean.head = -1;
  CHECK(mean.head_name() == "mean");
}
