// The header checks of decode_checkpoint cannot overflow: a payload length near 2^64 is
// reported as it is, not wrapped around into a small size.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"

using namespace attn;

namespace {

std::string with_length(std::string bytes, std::uint64_t length) {
  for (int i = 0; i < 8; ++i) bytes[16 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes;
}

std::string error_of(const std::string& bytes) {
  try {
    decode_checkpoint(bytes, "x.ckpt");
  } catch (const attn::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkpoint header: huge payload lengths are reported without wrapping around") {
  checkpoint c;
  c.metadata["k"] = "v";
  const std::string good = encode_checkpoint(c);
  REQUIRE(error_of(good) == "");
  const std::uint64_t have = good.size() - 32;
  CHECK(error_of(with_length(good, have + 1)) ==
        "'x.ckpt' is truncated (" + std::to_string(good.size()) + " of " + std::to_string(good.size() + 1) + " bytes)");
  CHECK(error_of(with_length(good, ~std::uint64_t(0))) ==
        "'x.ckpt' is corrupt (its header announces a payload of 18446744073709551615 bytes)");
  CHECK(error_of(with_length(good, ~std::uint64_t(0) - 31)) ==
        "'x.ckpt' is corrupt (its header announces a payload of 18446744073709551584 bytes)");
  CHECK(error_of(with_length(good, ~std::uint64_t(0) - 32)) ==
        "'x.ckpt' is truncated (" + std::to_string(good.size()) + " of 18446744073709551615 bytes)");
}
