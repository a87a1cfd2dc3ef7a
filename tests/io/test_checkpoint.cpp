// Checkpoint files: exact round trip, and a clean one-line attn::error for every kind of bad file.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "core/error.h"
#include "core/rng.h"
#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "test_helpers.h"
#include "train/optimizer.h"
#include "train/schedule.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

using attn::testing::temp_dir;

bool bit_equal(const matrix& a, const matrix& b) {
  return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

matrix filled(std::size_t r, std::size_t c, rng& g) {
  matrix m = matrix::from_shape({r, c});
  for (auto& x : m) x = g.normal();
  return m;
}

// Every field filled; `n` rows in the big tensors.
checkpoint sample_checkpoint(std::size_t n = 50) {
  rng g(7);
  checkpoint c;
  c.model_config = {{"family", "transformer"}, {"d_model", "64"}, {"heads", "4"}, {"empty", ""}};
  c.vocabularies = {{"src", "<unk>\n<s>\n</s>\nle\nchat\n"}, {"tgt", std::string("bin\0ary\xff", 8)}};
  c.params.push_back({"encoder.embed.weight", filled(n, 16, g), true, true});
  c.params.push_back({"encoder.norm.bias", filled(1, 16, g), false, false});
  c.params.push_back({"empty", matrix::from_shape({0, 3}), true, true});
  // Floats that must survive bit for bit: signed zero, denormal, infinities, NaN payloads.
  matrix special = matrix::from_shape({1, 6});
  std::uint32_t nan_bits = 0x7fc01234u;
  float nan_payload;
  std::memcpy(&nan_payload, &nan_bits, 4);
  special(0, 0) = -0.0f, special(0, 1) = std::numeric_limits<float>::denorm_min();
  special(0, 2) = INFINITY, special(0, 3) = -INFINITY, special(0, 4) = nan_payload, special(0, 5) = 1.0f / 3.0f;
  c.params.push_back({"special", special, true, false});
  c.optimizer.tensors["adamw.exp_avg/encoder.embed.weight"] = filled(n, 16, g);
  c.optimizer.scalars["adamw.steps"] = 1234;
  c.optimizer.scalars["adamw.step/encoder.embed.weight"] = 1200;
  schedule_config s;
  s.kind = "noam", s.warmup = 4000, s.lr = 7e-4f;
  c.schedule = schedule_config_to_map(s);
  c.counters = {{"step", 1234}, {"epoch", 3}, {"data_position", -1}, {"big", std::numeric_limits<std::int64_t>::max()}};
  rng r(42);
  r.uniform();
  c.rng_state = r.state();
  c.train_config = {{"batch_tokens", "4096"}, {"optimizer", "adamw"}};
  c.metadata = {{"best_valid", "12.3456"}};
  stamp_checkpoint(c);
  return c;
}

void check_equal(const checkpoint& a, const checkpoint& b) {
  CHECK(a.model_config == b.model_config);
  CHECK(a.vocabularies == b.vocabularies);
  REQUIRE(a.params.size() == b.params.size());
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    CAPTURE(a.params[i].name);
    CHECK(a.params[i].name == b.params[i].name);
    CHECK(bit_equal(a.params[i].value, b.params[i].value));
    CHECK(a.params[i].trainable == b.params[i].trainable);
    CHECK(a.params[i].decay == b.params[i].decay);
  }
  REQUIRE(a.optimizer.tensors.size() == b.optimizer.tensors.size());
  for (const auto& [k, m] : a.optimizer.tensors) CHECK(bit_equal(m, b.optimizer.tensors.at(k)));
  CHECK(a.optimizer.scalars == b.optimizer.scalars);
  CHECK(a.schedule == b.schedule);
  CHECK(a.counters == b.counters);
  CHECK(a.rng_state == b.rng_state);
  CHECK(a.train_config == b.train_config);
  CHECK(a.metadata == b.metadata);
}

std::uint64_t fnv1a64(const char* p, std::size_t n) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  return h;
}

// Rewrites the header checksum so that a damaged payload reaches the deserializer.
void forge_checksum(std::string& bytes) {
  std::uint64_t h = fnv1a64(bytes.data() + 32, bytes.size() - 32);
  for (int i = 0; i < 8; ++i) bytes[24 + i] = static_cast<char>(h >> (8 * i));
}

// The error for a bad file: one line, naming the file.
std::string load_error(const std::string& bytes, const std::string& name = "model.ckpt") {
  try {
    decode_checkpoint(bytes, name);
  } catch (const error& e) {
    std::string msg = e.what();
    CHECK(msg.find('\n') == std::string::npos);
    CHECK(msg.find("'" + name + "'") != std::string::npos);
    return msg;
  }
  return "";
}

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("save then load gives every field back, floats bit for bit") {
  temp_dir d;
  checkpoint c = sample_checkpoint();
  CHECK(c.metadata.count("attn_version") == 1);
  CHECK(c.metadata.at("written_at").size() == 20);
  save_checkpoint(d.path("model.ckpt"), c);
  checkpoint r = load_checkpoint(d.path("model.ckpt"));
  check_equal(c, r);
  // The header is readable by hand: magic, then the format as little-endian u32.
  std::string bytes = read_file(d.path("model.ckpt"));
  CHECK(bytes.compare(0, 8, "ATTNCKPT") == 0);
  CHECK(static_cast<unsigned char>(bytes[8]) == checkpoint_format);
  CHECK(d.names() == std::vector<std::string>{"model.ckpt"});
  // The file is streamed in two passes (hash, then write), never held in memory: the same bytes.
  CHECK(bytes == encode_checkpoint(c));

  checkpoint empty;
  check_equal(empty, decode_checkpoint(encode_checkpoint(empty), "x"));
}

TEST_CASE("optimizer state and store values through a checkpoint resume identically") {
  parameter_store a;
  rng g(3);
  a.add("w", 4, 3).value = filled(4, 3, g);
  a.add("b", 1, 3, false).value = filled(1, 3, g);
  optimizer_config oc;
  oc.weight_decay = 0.01f;
  auto opt = make_optimizer(oc);
  for (int t = 0; t < 3; ++t) {
    a.zero_grad();
    a.at("w").grad = filled(4, 3, g);
    a.at("b").grad = filled(1, 3, g);
    opt->step(a, 1e-2f);
  }
  checkpoint c;
  c.params = export_parameters(a);
  c.optimizer = opt->state();
  checkpoint r = decode_checkpoint(encode_checkpoint(c), "resume.ckpt");

  parameter_store b;
  b.add("w", 4, 3);
  b.add("b", 1, 3, false);
  import_parameters(b, r.params);
  auto opt_b = make_optimizer(oc);
  opt_b->set_state(r.optimizer);
  a.zero_grad();
  b.zero_grad();
  a.at("w").grad = filled(4, 3, g);
  b.at("w").grad = a.at("w").grad;
  opt->step(a, 1e-2f);
  opt_b->step(b, 1e-2f);
  CHECK(bit_equal(a.at("w").value, b.at("w").value));
  CHECK(bit_equal(a.at("b").value, b.at("b").value));
}

TEST_CASE("import_parameters verifies names and shapes before copying anything") {
  parameter_store src;
  src.add("x", 2, 2).value.fill(1.0f);
  src.add("y", 1, 3, false).value.fill(2.0f);
  src.at("y").trainable = false;
  auto params = export_parameters(src);
  CHECK(params.size() == 2);
  CHECK_FALSE(params[1].decay);

  parameter_store same;
  same.add("x", 2, 2);
  same.add("y", 1, 3);
  const float* before = same.at("x").value.data();
  import_parameters(same, params);
  CHECK(same.at("x").value(1, 1) == 1.0f);
  CHECK(same.at("y").value(0, 2) == 2.0f);
  CHECK(same.at("x").value.data() == before);  // copied into the existing buffer
  CHECK(same.at("y").trainable);               // flags are the model's unless asked
  import_parameters(same, params, {false, false, true});
  CHECK_FALSE(same.at("y").trainable);
  CHECK_FALSE(same.at("y").decay);

  parameter_store wrong;
  wrong.add("x", 2, 2).value.fill(5.0f);
  wrong.add("y", 3, 1);
  CHECK_THROWS_WITH_AS(import_parameters(wrong, params),
                       "checkpoint parameter 'y' has shape [1, 3] but the model's is [3, 1]", error);
  CHECK(wrong.at("x").value(0, 0) == 5.0f);  // untouched

  parameter_store more;
  more.add("x", 2, 2);
  more.add("y", 1, 3);
  more.add("lora.a", 2, 1).value.fill(9.0f);
  CHECK_THROWS_WITH_AS(import_parameters(more, params), "checkpoint has no parameter 'lora.a', which the model needs",
                       error);
  import_parameters(more, params, {true, false, false});
  CHECK(more.at("lora.a").value(0, 0) == 9.0f);

  parameter_store fewer;
  fewer.add("x", 2, 2);
  CHECK_THROWS_WITH_AS(import_parameters(fewer, params), "checkpoint parameter 'y' is not part of this model", error);
  import_parameters(fewer, params, {false, true, false});
  CHECK(fewer.at("x").value(0, 0) == 1.0f);
}

TEST_CASE("foreign, newer, truncated and empty files are refused with a clear message") {
  temp_dir d;
  std::ofstream(d.path("notes.txt")) << "hello, this is a text file and not a checkpoint\n";
  CHECK_THROWS_WITH_AS(load_checkpoint(d.path("notes.txt")),
                       ("'" + d.path("notes.txt") + "' is not an attn checkpoint").c_str(), error);
  CHECK_THROWS_WITH_AS(load_checkpoint(d.path("missing.ckpt")),
                       ("cannot open '" + d.path("missing.ckpt") + "': No such file or directory").c_str(), error);
  CHECK_THROWS_WITH_AS(load_checkpoint(d.dir().string()), doctest::Contains("is a directory"), error);

  std::string good = encode_checkpoint(sample_checkpoint());
  std::string newer = good;
  newer[8] = static_cast<char>(checkpoint_format + 1);
  CHECK(contains(load_error(newer), "was written by a newer attn (format 2)"));
  std::string newer_boost = good;
  newer_boost[12] = static_cast<char>(0xff), newer_boost[13] = 0x7f;
  CHECK(contains(load_error(newer_boost), "newer Boost.Serialization (archive version 32767"));
  std::string format0 = good;
  format0[8] = 0;
  CHECK(load_error(format0) == "'model.ckpt' is corrupt (bad header)");
  CHECK(contains(load_error(""), "is empty"));
  CHECK(contains(load_error(good.substr(0, 5)), "is truncated"));
  CHECK(contains(load_error(good.substr(0, 20)), "is truncated"));
  CHECK(contains(load_error(good.substr(0, good.size() - 1)), "is truncated"));
  CHECK(contains(load_error(good + "x"), "is corrupt"));
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  CHECK(load_error(flipped) == "'model.ckpt' is corrupt (checksum mismatch)");
}

TEST_CASE("random corruption and truncation always give attn::error, never a crash") {
  const std::string good = encode_checkpoint(sample_checkpoint());
  std::mt19937_64 gen(2024);
  auto offset = [&](std::size_t n) { return static_cast<std::size_t>(gen() % n); };
  for (int trial = 0; trial < 300; ++trial) {
    CAPTURE(trial);
    std::string bad = good;
    int hits = 1 + static_cast<int>(gen() % 4);
    for (int h = 0; h < hits; ++h) bad[offset(bad.size())] ^= static_cast<char>(1 + gen() % 255);
    std::string msg = load_error(bad);
    CHECK(msg != "");
    CHECK((contains(msg, "corrupt") || contains(msg, "not an attn checkpoint") || contains(msg, "newer attn") ||
           contains(msg, "truncated")));
  }
  for (int trial = 0; trial < 200; ++trial) {
    CAPTURE(trial);
    std::string msg = load_error(good.substr(0, offset(good.size())));
    CHECK((contains(msg, "truncated") || contains(msg, "is empty")));
  }
}

TEST_CASE("a damaged payload with a valid checksum is still caught by the bounded reader") {
  // Forged checksums send garbage straight to the deserializer: every size it reads must be
  // bounded (run under ASan: no overflow, no huge allocation). Some damage is undetectable
  // (a changed float); everything else must be a clean attn::error.
  checkpoint c = sample_checkpoint();
  const std::string good = encode_checkpoint(c);
  std::mt19937_64 gen(99);
  int refused = 0;
  for (int trial = 0; trial < 500; ++trial) {
    CAPTURE(trial);
    std::string bad = good;
    int hits = 1 + static_cast<int>(gen() % 3);
    for (int h = 0; h < hits; ++h) bad[32 + gen() % (bad.size() - 32)] ^= static_cast<char>(1 + gen() % 255);
    if (gen() % 4 == 0) bad.resize(32 + gen() % (bad.size() - 32));  // a short payload, length fixed below
    std::uint64_t len = bad.size() - 32;
    for (int i = 0; i < 8; ++i) bad[16 + i] = static_cast<char>(len >> (8 * i));
    forge_checksum(bad);
    try {
      decode_checkpoint(bad, "forged.ckpt");
    } catch (const error& e) {
      ++refused;
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
  CHECK(refused > 50);
  // Every single byte of a small checkpoint's payload set to a few bad values, and 8-byte runs
  // of them (0xff...: a maximal size) at every position.
  checkpoint tiny = sample_checkpoint(1);
  tiny.rng_state = "12 34";  // a real one is 6 KB of digits: nothing structural to damage there
  const std::string small = encode_checkpoint(tiny);
  for (std::size_t at = 32; at < small.size(); ++at)
    for (int value : {0x00, 0x80, 0xff})
      for (int run : {1, 8}) {
        if (static_cast<unsigned char>(small[at]) == value || at + run > small.size()) continue;
        std::string bad = small;
        for (int i = 0; i < run; ++i) bad[at + i] = static_cast<char>(value);
        forge_checksum(bad);
        try {
          decode_checkpoint(bad, "forged.ckpt");
        } catch (const error&) {
        }
      }
}

TEST_CASE("an interrupted save leaves the previous checkpoint intact and no temp file") {
  temp_dir d;
  const std::string path = d.path("model.ckpt");
  checkpoint old_ckpt;
  old_ckpt.metadata["which"] = "old";
  save_checkpoint(path, old_ckpt);
  const std::string old_bytes = read_file(path);

  // The file size limit makes write() fail with EFBIG halfway through the big new checkpoint.
  checkpoint big = sample_checkpoint();
  rng g(1);
  big.params.push_back({"huge", filled(512, 512, g), true, true});
  struct rlimit saved;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 64 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string msg;
  try {
    save_checkpoint(path, big);
  } catch (const error& e) {
    msg = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  CHECK(contains(msg, ("cannot write '" + path + "'").c_str()));
  CHECK(read_file(path) == old_bytes);
  CHECK(load_checkpoint(path).metadata.at("which") == "old");
  CHECK(d.names() == std::vector<std::string>{"model.ckpt"});

  // And with the limit lifted, the same save replaces the file.
  save_checkpoint(path, big);
  CHECK(load_checkpoint(path).params.size() == big.params.size());
  CHECK(d.names() == std::vector<std::string>{"model.ckpt"});
}

TEST_CASE("saving into a missing directory names the file") {
  temp_dir d;
  std::string path = d.path("no/such/dir/model.ckpt");
  CHECK_THROWS_WITH_AS(save_checkpoint(path, checkpoint{}),
                       ("cannot write '" + path + "': No such file or directory").c_str(), error);
}
