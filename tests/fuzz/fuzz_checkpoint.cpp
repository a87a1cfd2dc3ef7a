// The checkpoint reader (io/checkpoint.h).
// mode & 1 = 0: the payload is a whole file, as decode_checkpoint sees it.
// mode & 1 = 1: the payload is an archive; a valid header (length, FNV-1a checksum) is put in
//               front of it, so the fuzzer gets past the checksum into the deserializer.
// mode & 2:     go through load_checkpoint on a temporary file instead of decode_checkpoint.
// Asserts: every input is decoded or rejected with attn::error (no other exception, no
// allocation beyond the input's size); what decodes encodes and decodes again to the same values.
#include <boost/archive/basic_archive.hpp>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "fuzz_common.h"
#include "io/checkpoint.h"

namespace {

using namespace attn;

void put_le(std::string& out, std::size_t at, std::uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i) out[at + i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

// docs/checkpoints.md: FNV-1a-64 of the payload.
std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string with_header(std::string_view payload) {
  std::string out(32, '\0');
  std::memcpy(&out[0], "ATTNCKPT", 8);
  put_le(out, 8, checkpoint_format, 4);
  put_le(out, 12, static_cast<unsigned>(boost::archive::BOOST_ARCHIVE_VERSION()), 2);
  put_le(out, 16, payload.size(), 8);
  put_le(out, 24, fnv1a64(payload), 8);
  out.append(payload);
  return out;
}

bool same_matrix(const matrix& a, const matrix& b) {
  return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

bool same(const checkpoint& a, const checkpoint& b) {
  if (a.model_config != b.model_config || a.vocabularies != b.vocabularies || a.schedule != b.schedule ||
      a.counters != b.counters || a.rng_state != b.rng_state || a.train_config != b.train_config ||
      a.metadata != b.metadata || a.params.size() != b.params.size() ||
      a.optimizer.tensors.size() != b.optimizer.tensors.size() || a.optimizer.scalars.size() != b.optimizer.scalars.size())
    return false;
  for (std::size_t i = 0; i < a.params.size(); ++i) {
    const auto &p = a.params[i], &q = b.params[i];
    if (p.name != q.name || p.trainable != q.trainable || p.decay != q.decay || !same_matrix(p.value, q.value))
      return false;
  }
  for (auto i = a.optimizer.tensors.begin(), j = b.optimizer.tensors.begin(); i != a.optimizer.tensors.end(); ++i, ++j)
    if (i->first != j->first || !same_matrix(i->second, j->second)) return false;
  for (auto i = a.optimizer.scalars.begin(), j = b.optimizer.scalars.begin(); i != a.optimizer.scalars.end(); ++i, ++j)
    if (i->first != j->first || std::memcmp(&i->second, &j->second, sizeof(double)) != 0) return false;
  return true;
}

checkpoint load_via_file(const std::string& bytes) {
  static const fuzz::temp_file file("checkpoint");
  const std::string& path = file.path;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) fuzz::finding("cannot write " + path);
  }
  checkpoint c = load_checkpoint(path);
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::input in = fuzz::split_input(data, size);
  const std::string bytes = (in.mode & 1) ? with_header(in.payload) : std::string(in.payload);
  checkpoint c;
  try {
    c = (in.mode & 2) ? load_via_file(bytes) : decode_checkpoint(bytes, "fuzz.ckpt");
  } catch (const attn::error&) {
    return 0;  // rejected with a message: fine
  } catch (const std::exception& e) {
    fuzz::finding(fuzz::unexpected("decode_checkpoint", e));
  }
  // Accepted: it must survive a round trip unchanged.
  checkpoint again;
  try {
    again = decode_checkpoint(encode_checkpoint(c), "again.ckpt");
  } catch (const std::exception& e) {
    fuzz::finding(std::string("a decoded checkpoint does not round-trip: ") + e.what());
  }
  fuzz::require(same(c, again), "a decoded checkpoint re-encodes to different values");
  return 0;
}
