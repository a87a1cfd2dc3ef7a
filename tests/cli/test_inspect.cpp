// attn inspect, in-process: a checkpoint written by the library, read back through the CLI.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/parameter.h"
#include "io/checkpoint.h"
#include "test_helpers.h"

using attn::testing::capture_stdout;

TEST_CASE("inspect prints family, parameter counts per module and progress") {
  attn::parameter_store store;
  store.add("embed.weight", 10, 4);
  store.add("encoder.layers.0.attn.qkv.weight", 4, 12);
  store.add("encoder.layers.0.attn.qkv.bias", 1, 12, false);
  store.add("encoder.layers.1.ff.w1.weight", 4, 8).trainable = false;
  attn::checkpoint c;
  c.model_config = {{"family", "transformer"}, {"d_model", "4"}};
  c.params = attn::export_parameters(store);
  c.counters = {{"step", 42}};
  c.metadata = {{"best_valid", "1.25"}};
  attn::stamp_checkpoint(c);
  attn::testing::temp_dir d;
  const std::string path = d.path("test_inspect.ckpt");
  attn::save_checkpoint(path, c);

  std::string out;
  int code;
  {
    capture_stdout cap;  // doctest reports to stdout too: release it before checking
    code = attn::cli::dispatch({"inspect", path});
    out = cap.text();
  }
  INFO(out);
  REQUIRE(code == 0);
  CHECK(out.find("model: transformer") != std::string::npos);
  CHECK(out.find("parameters: 132 (100 trainable) in 4 tensors") != std::string::npos);
  CHECK(out.find("encoder.layers.0") != std::string::npos);
  CHECK(out.find("60") != std::string::npos);  // 48 + 12 in encoder.layers.0
  CHECK(out.find("step = 42") != std::string::npos);
  CHECK(out.find("best_valid: 1.25") != std::string::npos);

  // -m CKPT, as in every other subcommand, says the same.
  std::string by_option;
  {
    capture_stdout cap;
    code = attn::cli::dispatch({"inspect", "-m", path});
    by_option = cap.text();
  }
  CHECK(code == 0);
  CHECK(by_option == out);

  // --json: the same content as one object.
  std::string json_text;
  {
    capture_stdout cap;
    code = attn::cli::dispatch({"inspect", "-m", path, "--json"});
    json_text = cap.text();
  }
  REQUIRE(code == 0);
  const auto j = nlohmann::json::parse(json_text);
  CHECK(j["family"] == "transformer");
  CHECK(j["config"]["d_model"] == "4");
  CHECK(j["parameters"]["total"] == 132);
  CHECK(j["parameters"]["trainable"] == 100);
  CHECK(j["parameters"]["tensors"] == 4);
  REQUIRE(j["parameters"]["modules"].size() == 3);
  CHECK(j["parameters"]["modules"][1]["name"] == "encoder.layers.0");
  CHECK(j["parameters"]["modules"][1]["parameters"] == 60);
  CHECK(j["counters"]["step"] == 42);
  CHECK(j["metadata"]["best_valid"] == "1.25");
}

TEST_CASE("inspect refuses a file that is not a checkpoint, with exit code 1") {
  attn::testing::temp_dir d;
  CHECK(attn::cli::dispatch({"inspect", d.write("not.ckpt", "hello\n")}) == 1);
  CHECK(attn::cli::dispatch({"inspect", d.path("no-such-file.ckpt")}) == 1);
  CHECK(attn::cli::dispatch({"inspect"}) == 2);
  const std::string a = d.write("a.ckpt", "x"), b = d.write("b.ckpt", "y");
  CHECK(attn::cli::dispatch({"inspect", "-m", a, b}) == 2);  // two checkpoints: a usage error
}
