#include "io/checkpoint.h"

#include <sys/stat.h>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/tracking.hpp>
#include <boost/serialization/version.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <new>
#include <streambuf>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/version.h"
#include "io/atomic_file.h"

namespace attn {
namespace {

// ---- header -------------------------------------------------------------------------------
// 32 bytes, little-endian, written by hand so it can be read before anything else:
//    0  magic "ATTNCKPT"
//    8  u32  checkpoint format
//   12  u16  Boost.Serialization archive version that wrote the payload
//   14  u8   payload byte order (0 = little-endian), u8 reserved (0)
//   16  u64  payload bytes
//   24  u64  FNV-1a-64 of the payload
// The payload is a Boost binary archive *without* Boost's own header: that header holds a
// length-prefixed string that Boost would allocate unchecked; its version is kept here instead.
constexpr char magic[8] = {'A', 'T', 'T', 'N', 'C', 'K', 'P', 'T'};
constexpr std::size_t header_bytes = 32;
constexpr unsigned archive_flags = boost::archive::no_header;

bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

void put_le(std::string& out, std::size_t at, std::uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i) out[at + i] = static_cast<char>((x >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const std::string& in, std::size_t at, int bytes) {
  std::uint64_t x = 0;
  for (int i = 0; i < bytes; ++i) x |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return x;
}

// FNV-1a, 64-bit: simple, documented, reproducible with a few lines of any language.
// `h` continues a hash over bytes before these (the streaming save hashes piece by piece).
constexpr std::uint64_t fnv1a64_start = 14695981039346656037ull;
std::uint64_t fnv1a64(const char* p, std::size_t n, std::uint64_t h = fnv1a64_start) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

// ---- memory streams for the archive ----------------------------------------------------------
// Appends to a string (the payload goes straight after the header: no copy of a large model).
class string_sink : public std::streambuf {
 public:
  explicit string_sink(std::string& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  std::string& out_;
};

// Counts and hashes the bytes written (FNV-1a, as fnv1a64) and passes them on to `out`, if any,
// through a buffer: save_checkpoint's two passes (the header needs the payload's size and hash
// before the payload, and the payload is never held in memory).
class hashing_sink : public std::streambuf {
 public:
  explicit hashing_sink(atomic_file* out) : out_(out), buffer_(out ? std::size_t{1} << 20 : 0) {}
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t hash() const { return hash_; }
  void flush_to_file() {
    if (out_ && used_) out_->write(buffer_.data(), used_);
    used_ = 0;
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const std::size_t k = static_cast<std::size_t>(n);
    if (k == 0) return n;  // an empty tensor: s may be null, which memcpy may not take
    hash_ = fnv1a64(s, k, hash_);
    bytes_ += k;
    if (!out_) return n;
    if (used_ + k > buffer_.size()) flush_to_file();
    if (k >= buffer_.size()) {
      out_->write(s, k);
    } else {
      std::memcpy(buffer_.data() + used_, s, k);
      used_ += k;
    }
    return n;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }

 private:
  atomic_file* out_;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0, hash_ = fnv1a64_start;
};

// Reads from a buffer it does not own; knows how many bytes are left, which bounds every size.
class memory_source : public std::streambuf {
 public:
  memory_source(const char* data, std::size_t n) {
    char* p = const_cast<char*>(data);  // never written: no put area, no putback
    setg(p, p, p + n);
  }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

// A size or value in the payload that cannot be right: turned into "'x' is corrupt (...)".
struct corrupt_payload : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Attached to the input archive (Boost's per-archive helper slot) so that the load functions
// below can bound each size by the bytes actually left.
struct load_limit {
  const memory_source* source = nullptr;
};
char load_limit_id;

template <class Archive>
std::size_t bytes_left(Archive& ar) {
  const memory_source* s = ar.template get_helper<load_limit>(&load_limit_id).source;
  if (!s) throw corrupt_payload("internal: no input bound");
  return s->remaining();
}

// Counts and lengths: u64, checked against the bytes left (each element takes >= min_bytes).
template <class Archive>
void save_size(Archive& ar, std::uint64_t n) {
  ar << n;
}

template <class Archive>
std::size_t load_size(Archive& ar, std::size_t min_bytes, const char* what) {
  std::uint64_t n = 0;
  ar >> n;
  if (n > bytes_left(ar) / min_bytes) throw corrupt_payload(std::string("impossible ") + what + " size");
  return static_cast<std::size_t>(n);
}

template <class Archive>
void save_string(Archive& ar, const std::string& s) {
  save_size(ar, s.size());
  ar.save_binary(s.data(), s.size());
}

template <class Archive>
void load_string(Archive& ar, std::string& s) {
  s.resize(load_size(ar, 1, "string"));
  ar.load_binary(&s[0], s.size());
}

// Flags travel as one byte each (a bool read from a corrupt byte would be undefined behaviour).
template <class Archive>
void save_flag(Archive& ar, bool b) {
  std::uint8_t x = b ? 1 : 0;
  ar << x;
}

template <class Archive>
bool load_flag(Archive& ar) {
  std::uint8_t x = 0;
  ar >> x;
  if (x > 1) throw corrupt_payload("bad flag byte");
  return x == 1;
}

// Matrix: rows u64, cols u64, rows·cols floats in native (little-endian IEEE) order.
template <class Archive>
void save_matrix(Archive& ar, const matrix& m) {
  save_size(ar, rows(m));
  save_size(ar, cols(m));
  ar.save_binary(m.data(), m.size() * sizeof(float));
}

template <class Archive>
void load_matrix(Archive& ar, matrix& m) {
  std::uint64_t r = 0, c = 0;
  ar >> r >> c;
  const std::uint64_t limit = 1ull << 32;
  if (r > limit || c > limit || (c != 0 && r > bytes_left(ar) / sizeof(float) / c))
    throw corrupt_payload("impossible tensor shape");
  m = matrix::from_shape({static_cast<std::size_t>(r), static_cast<std::size_t>(c)});
  ar.load_binary(m.data(), m.size() * sizeof(float));
}

// Maps: count, then (key, value) pairs in key order. Duplicate keys mean a forged payload.
template <class Archive, class V, class SaveV>
void save_map(Archive& ar, const std::map<std::string, V>& m, SaveV save_value) {
  save_size(ar, m.size());
  for (const auto& [k, v] : m) {
    save_string(ar, k);
    save_value(ar, v);
  }
}

template <class Archive, class V, class LoadV>
void load_map(Archive& ar, std::map<std::string, V>& m, LoadV load_value) {
  m.clear();
  std::size_t n = load_size(ar, 8, "map");
  for (std::size_t i = 0; i < n; ++i) {
    std::string k;
    load_string(ar, k);
    V v{};
    load_value(ar, v);
    if (!m.emplace(std::move(k), std::move(v)).second) throw corrupt_payload("duplicate key");
  }
}

template <class Archive>
void save_text_map(Archive& ar, const std::map<std::string, std::string>& m) {
  save_map(ar, m, [](Archive& a, const std::string& v) { save_string(a, v); });
}

template <class Archive>
void load_text_map(Archive& ar, std::map<std::string, std::string>& m) {
  load_map(ar, m, [](Archive& a, std::string& v) { load_string(a, v); });
}

}  // namespace
}  // namespace attn

// ---- the serialized structs (Boost object level: class version in the archive) ------------------
namespace boost::serialization {

template <class Archive>
void save(Archive& ar, const attn::checkpoint_param& p, unsigned /*version*/) {
  attn::save_string(ar, p.name);
  attn::save_matrix(ar, p.value);
  attn::save_flag(ar, p.trainable);
  attn::save_flag(ar, p.decay);
}

template <class Archive>
void load(Archive& ar, attn::checkpoint_param& p, unsigned /*version*/) {
  attn::load_string(ar, p.name);
  attn::load_matrix(ar, p.value);
  p.trainable = attn::load_flag(ar);
  p.decay = attn::load_flag(ar);
}

template <class Archive>
void save(Archive& ar, const attn::checkpoint& c, unsigned /*version*/) {
  using namespace attn;
  save_text_map(ar, c.model_config);
  save_text_map(ar, c.vocabularies);
  save_size(ar, c.params.size());
  for (const auto& p : c.params) ar << p;
  save_map(ar, c.optimizer.tensors, [](Archive& a, const matrix& m) { save_matrix(a, m); });
  save_map(ar, c.optimizer.scalars, [](Archive& a, const double& x) { a << x; });
  save_text_map(ar, c.schedule);
  save_map(ar, c.counters, [](Archive& a, const std::int64_t& x) { a << x; });
  save_string(ar, c.rng_state);
  save_text_map(ar, c.train_config);
  save_text_map(ar, c.metadata);
}

template <class Archive>
void load(Archive& ar, attn::checkpoint& c, unsigned /*version*/) {
  using namespace attn;
  load_text_map(ar, c.model_config);
  load_text_map(ar, c.vocabularies);
  std::size_t n = load_size(ar, 16, "parameter list");
  c.params.clear();
  for (std::size_t i = 0; i < n; ++i) {  // no reserve(n): memory grows with bytes actually read
    c.params.emplace_back();
    ar >> c.params.back();
  }
  load_map(ar, c.optimizer.tensors, [](Archive& a, matrix& m) { load_matrix(a, m); });
  load_map(ar, c.optimizer.scalars, [](Archive& a, double& x) { a >> x; });
  load_text_map(ar, c.schedule);
  load_map(ar, c.counters, [](Archive& a, std::int64_t& x) { a >> x; });
  load_string(ar, c.rng_state);
  load_text_map(ar, c.train_config);
  load_text_map(ar, c.metadata);
}

template <class Archive>
void serialize(Archive& ar, attn::checkpoint_param& p, unsigned version) {
  split_free(ar, p, version);
}

template <class Archive>
void serialize(Archive& ar, attn::checkpoint& c, unsigned version) {
  split_free(ar, c, version);
}

}  // namespace boost::serialization

// A field added to either struct bumps its class version AND checkpoint_format (docs/checkpoints.md).
BOOST_CLASS_VERSION(attn::checkpoint_param, 1)
BOOST_CLASS_VERSION(attn::checkpoint, 1)
BOOST_CLASS_TRACKING(attn::checkpoint_param, boost::serialization::track_never)
BOOST_CLASS_TRACKING(attn::checkpoint, boost::serialization::track_never)

namespace attn {

namespace {

// The 32-byte header for a payload of `payload` bytes whose FNV-1a-64 is `hash`.
std::string header_for(std::uint64_t payload, std::uint64_t hash) {
  std::string out(header_bytes, '\0');
  std::memcpy(&out[0], magic, sizeof magic);
  put_le(out, 8, checkpoint_format, 4);
  put_le(out, 12, static_cast<unsigned>(boost::archive::BOOST_ARCHIVE_VERSION()), 2);
  put_le(out, 14, little_endian() ? 0 : 1, 1);
  put_le(out, 15, 0, 1);
  put_le(out, 16, payload, 8);
  put_le(out, 24, hash, 8);
  return out;
}

// Serializes c into sink (the payload).
void serialize(std::streambuf& sink, const checkpoint& c) {
  try {
    boost::archive::binary_oarchive ar(sink, archive_flags);
    ar << c;
  } catch (const boost::archive::archive_exception& e) {
    throw error(std::string("cannot serialize checkpoint: ") + e.what());
  }
}

}  // namespace

std::string encode_checkpoint(const checkpoint& c) {
  std::string out(header_bytes, '\0');
  // The tensors are nearly all of it: reserving them (and 1 MiB for the rest) saves growing
  // the buffer by doubling, which would hold up to twice the model while it is copied.
  std::size_t floats = 0;
  for (const checkpoint_param& p : c.params) floats += p.value.size();
  for (const auto& kv : c.optimizer.tensors) floats += kv.second.size();
  std::size_t text = 0;
  for (const auto& kv : c.vocabularies) text += kv.second.size();
  out.reserve(header_bytes + floats * sizeof(float) + text + (std::size_t{1} << 20));
  string_sink sink(out);
  serialize(sink, c);
  const std::uint64_t payload = out.size() - header_bytes;
  const std::string header = header_for(payload, fnv1a64(out.data() + header_bytes, payload));
  std::memcpy(&out[0], header.data(), header_bytes);
  return out;
}

checkpoint decode_checkpoint(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return error("'" + name + "' " + why); };
  if (bytes.empty()) throw fail("is empty (not an attn checkpoint)");
  const std::size_t head = std::min(bytes.size(), sizeof magic);
  if (std::memcmp(bytes.data(), magic, head) != 0) throw fail("is not an attn checkpoint");
  if (bytes.size() < header_bytes)
    throw fail("is truncated (" + std::to_string(bytes.size()) + " bytes, shorter than the header)");
  const std::uint64_t format = get_le(bytes, 8, 4), boost_version = get_le(bytes, 12, 2);
  const std::uint64_t byte_order = get_le(bytes, 14, 1), reserved = get_le(bytes, 15, 1);
  const std::uint64_t length = get_le(bytes, 16, 8), checksum = get_le(bytes, 24, 8);
  if (format > checkpoint_format)
    throw fail("was written by a newer attn (format " + std::to_string(format) + "); this attn reads formats up to " +
               std::to_string(checkpoint_format));
  if (format == 0 || byte_order > 1 || reserved != 0 || boost_version < 3) throw fail("is corrupt (bad header)");
  if (boost_version > static_cast<unsigned>(boost::archive::BOOST_ARCHIVE_VERSION()))
    throw fail("was written with a newer Boost.Serialization (archive version " + std::to_string(boost_version) +
               "; this attn was built with " + std::to_string(unsigned(boost::archive::BOOST_ARCHIVE_VERSION())) +
               ")");
  if (byte_order != (little_endian() ? 0u : 1u))
    throw fail("was written on a machine of the other byte order and cannot be read here");
  const std::uint64_t have = bytes.size() - header_bytes;
  if (length > have)  // length + header_bytes can wrap around: compare and print without adding
    throw fail(length <= std::uint64_t(-1) - header_bytes
                   ? "is truncated (" + std::to_string(bytes.size()) + " of " +
                         std::to_string(length + header_bytes) + " bytes)"
                   : "is corrupt (its header announces a payload of " + std::to_string(length) + " bytes)");
  if (length < have) throw fail("is corrupt (" + std::to_string(have - length) + " stray bytes after the payload)");
  if (fnv1a64(bytes.data() + header_bytes, length) != checksum) throw fail("is corrupt (checksum mismatch)");

  checkpoint c;
  try {
    memory_source source(bytes.data() + header_bytes, length);
    boost::archive::binary_iarchive ar(source, archive_flags);
    ar.set_library_version(boost::serialization::library_version_type(static_cast<unsigned>(boost_version)));
    ar.get_helper<load_limit>(&load_limit_id).source = &source;
    ar >> c;
    if (source.remaining() != 0) throw corrupt_payload("unread bytes at the end");
  } catch (const corrupt_payload& e) {
    throw fail(std::string("is corrupt (") + e.what() + ")");
  } catch (const boost::archive::archive_exception& e) {
    // The checksum matched, so this is more likely a file this build cannot read than damage,
    // e.g. a class version newer than this build's (a bump that forgot checkpoint_format).
    throw fail(std::string("cannot be read by this attn (") + e.what() + ")");
  } catch (const std::bad_alloc&) {
    throw fail("cannot be loaded: out of memory");
  } catch (const std::exception& e) {
    throw fail(std::string("is corrupt (") + e.what() + ")");
  }
  return c;
}

// Two passes over c instead of encode_checkpoint()'s string: the first only counts and hashes the
// payload (for the header, which comes first), the second writes it to the file through a 1 MiB
// buffer and hashes it again, so that a payload that came out differently (it cannot: the
// archive is a function of c) is never committed. Saves a copy of the model and its optimizer
// state in memory at every save (93 MB for bench_nmt's Transformer).
void save_checkpoint(const std::string& path, const checkpoint& c) {
  hashing_sink measure(nullptr);
  serialize(measure, c);
  atomic_file file(path);
  file.write(header_for(measure.bytes(), measure.hash()));
  hashing_sink write(&file);
  serialize(write, c);
  write.flush_to_file();
  if (write.bytes() != measure.bytes() || write.hash() != measure.hash())
    throw error("cannot save checkpoint '" + path + "': its payload changed between two serializations");
  file.commit();
}

checkpoint load_checkpoint(const std::string& path) {
  // A checkpoint is a file: a device or pipe (/dev/zero) would be read without end.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    throw error("cannot read checkpoint '" + path + "': not a regular file");
  return decode_checkpoint(read_file(path), path);
}

void stamp_checkpoint(checkpoint& c) {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  c.metadata["attn_version"] = version();
  c.metadata["written_at"] = buf;
}

std::vector<checkpoint_param> export_parameters(const parameter_store& store) {
  std::vector<checkpoint_param> out;
  out.reserve(store.size());
  for (const parameter* p : store.all()) out.push_back({p->name, p->current(), p->trainable, p->decay});
  return out;
}

namespace {
std::string shape_text(const matrix& m) {
  return "[" + std::to_string(rows(m)) + ", " + std::to_string(cols(m)) + "]";
}
}  // namespace

void import_parameters(parameter_store& store, const std::vector<checkpoint_param>& params,
                       const import_options& opt) {
  std::unordered_map<std::string, const checkpoint_param*> by_name;
  for (const auto& cp : params)
    if (!by_name.emplace(cp.name, &cp).second) throw error("checkpoint holds parameter '" + cp.name + "' twice");
  // Verify everything first: a failed import leaves the store as it was.
  for (const parameter* p : store.all()) {
    auto it = by_name.find(p->name);
    if (it == by_name.end()) {
      if (!opt.allow_missing) throw error("checkpoint has no parameter '" + p->name + "', which the model needs");
      continue;
    }
    if (it->second->value.shape() != p->value.shape())
      throw error("checkpoint parameter '" + p->name + "' has shape " + shape_text(it->second->value) +
                  " but the model's is " + shape_text(p->value));
    const matrix& v = it->second->value;
    if (!std::all_of(v.data(), v.data() + v.size(), [](float x) { return std::isfinite(x); }))
      throw error("checkpoint parameter '" + p->name + "' holds NaN or infinite values (the run diverged before "
                  "it was saved?); it cannot be used");
  }
  if (!opt.allow_unexpected)
    for (const auto& cp : params)
      if (!store.find(cp.name)) throw error("checkpoint parameter '" + cp.name + "' is not part of this model");
  // Copy into the existing buffers: tapes and optimizers may hold pointers to them.
  for (parameter* p : store.all()) {
    auto it = by_name.find(p->name);
    if (it == by_name.end()) continue;
    if (p->value.size() != 0)
      std::memcpy(p->value.data(), it->second->value.data(), p->value.size() * sizeof(float));
    if (opt.restore_flags) {
      p->trainable = it->second->trainable;
      p->decay = it->second->decay;
    }
  }
}

}  // namespace attn
