#include "io/same_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "io/atomic_file.h"

namespace attn {

namespace {

struct identity {
  bool known = false;     // something exists there (dev, ino valid)
  bool regular = true;    // a regular file, or nothing yet (then the canonical path decides)
  dev_t dev = 0;
  ino_t ino = 0;
  std::string canonical;  // for paths that do not exist
};

identity identify(const std::string& path, int std_fd) {
  identity id;
  struct stat st;
  // "-" and /dev/stdout, /dev/fd/N, ...: what the descriptor is open on, as the shell set it up.
  const int fd = path == "-" ? std_fd : standard_stream_of(path);
  const bool found = fd >= 0 ? ::fstat(fd, &st) == 0 : ::stat(path.c_str(), &st) == 0;
  if (found) {
    id.known = true;
    id.regular = S_ISREG(st.st_mode);
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    return id;
  }
  if (fd >= 0) {
    id.regular = false;  // a closed descriptor clashes with nothing
    return id;
  }
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  id.canonical = ec ? path : std::filesystem::weakly_canonical(abs, ec).string();
  if (ec) id.canonical = abs.string();
  return id;
}

bool same(const identity& a, const identity& b) {
  if (!a.regular || !b.regular) return false;
  if (a.known && b.known) return a.dev == b.dev && a.ino == b.ino;
  if (!a.known && !b.known) return a.canonical == b.canonical;
  return false;  // one exists and the other does not: different names for different things
}

std::string shown(const named_path& p) { return p.path == "-" ? "-" : "'" + p.path + "'"; }

std::string stream_name(const named_path& p, bool output) {
  if (p.path != "-") return p.option.empty() ? shown(p) : p.option + " " + shown(p);
  return output ? "standard output" : "standard input";
}

}  // namespace

std::string overwrite_problem(const std::vector<named_path>& inputs, const std::vector<named_path>& outputs) {
  std::vector<identity> in_ids, out_ids;
  identity absent;  // an option not given clashes with nothing
  absent.regular = false;
  for (const auto& p : inputs) in_ids.push_back(p.path.empty() ? absent : identify(p.path, 0));
  for (const auto& p : outputs) out_ids.push_back(p.path.empty() ? absent : identify(p.path, 1));
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (same(out_ids[o], in_ids[i]))
        return stream_name(outputs[o], true) + " is the same file as the input " + stream_name(inputs[i], false) +
               "; attn never writes over its input (write elsewhere, then rename)";
    for (std::size_t j = 0; j < o; ++j)
      if (same(out_ids[o], out_ids[j]))
        return stream_name(outputs[o], true) + " and " + stream_name(outputs[j], true) +
               " are the same file; give each output its own name";
  }
  return "";
}

}  // namespace attn
