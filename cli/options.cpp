#include "options.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <streambuf>
#include <typeinfo>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "io/atomic_file.h"
#include "processes.h"

namespace attn::cli {

namespace {

// Reaches the protected substitution table of a caught error through a pointer to member
// formed in a derived class (the way C++ allows).
struct po_error_fields : po::error_with_option_name {
  static std::map<std::string, std::string>& substitutions(po::error_with_option_name& e) {
    return e.*(&po_error_fields::m_substitutions);
  }
};

}  // namespace

std::string option_error_message(const po::error& e) {
  if (const auto* named = dynamic_cast<const po::error_with_option_name*>(&e)) {
    // The exception object itself is not const (only our reference to it is).
    auto& table = po_error_fields::substitutions(const_cast<po::error_with_option_name&>(*named));
    for (auto& entry : table) {
      for (std::size_t at = entry.second.find('%'); at != std::string::npos; at = entry.second.find('%', at + 1))
        entry.second.replace(at, 1, "\\x25");  // shown like the other bytes dispatch escapes
      // what() is a C string: a NUL from a --config file would end the message there.
      entry.second = without_nul(entry.second);
    }
  }
  return e.what();
}

namespace {

// "true"/"false" and the spellings Boost accepts for a bool; nullopt for anything else.
std::optional<bool> bool_text(const std::string& s) {
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

// Boolean options accept --flag, --flag=false and --no-flag, for switches (which take no value
// in Boost) and for options with an implicit "true" alike. Switches are rewritten to what Boost
// takes: their last occurrence decides, and they appear once ("--flag") or not at all.
args spell_flags(const command_line& cl, const args& argv) {
  args out;
  std::vector<std::pair<std::string, bool>> switches;  // in order of first appearance
  auto set_switch = [&](const std::string& name, bool on) {
    for (auto& [n, v] : switches)
      if (n == name) {
        v = on;
        return;
      }
    switches.emplace_back(name, on);
  };
  bool options_end = false;
  for (const std::string& token : argv) {
    if (options_end || token.size() < 3 || token.compare(0, 2, "--") != 0) {
      options_end = options_end || token == "--";
      out.push_back(token);
      continue;
    }
    const std::size_t eq = token.find('=');
    std::string name = token.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::optional<bool> value = true;
    if (eq != std::string::npos) value = bool_text(token.substr(eq + 1));
    if (!cl.options.find_nothrow(name, false) && name.compare(0, 3, "no-") == 0 && eq == std::string::npos &&
        cl.options.find_nothrow(name.substr(3), false)) {
      name = name.substr(3);  // --no-flag
      value = false;
    }
    const po::option_description* d = cl.options.find_nothrow(name, false);
    const bool is_flag = d && d->semantic()->min_tokens() == 0;
    if (!is_flag || !value) {  // not a flag, or a value Boost shall judge
      out.push_back(token);
      continue;
    }
    if (d->semantic()->max_tokens() == 0)
      set_switch(name, *value);
    else
      out.push_back("--" + name + "=" + (*value ? "true" : "false"));
  }
  for (const auto& [name, on] : switches)
    if (on) out.push_back("--" + name);
  return out;
}

// Whether option d keeps every value it is given (--ref, --freeze, vocab's inputs).
bool collects(const po::option_description* d) {
  if (!d) return false;
  const auto* typed = dynamic_cast<const po::typed_value_base*>(d->semantic().get());
  return d->semantic()->is_composing() || (typed && typed->value_type() == typeid(std::vector<std::string>));
}

// A scalar option given twice: the last one wins (wrapper scripts append overrides). Options
// that collect values (--special, --ref, --freeze, vocab's --input) and positional arguments keep every one.
void keep_last_occurrences(po::parsed_options& parsed) {
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < parsed.options.size(); ++i) {
    const po::option& o = parsed.options[i];
    if (o.position_key < 0 && !o.unregistered && !o.string_key.empty()) last[o.string_key] = i;
  }
  std::vector<po::option> kept;
  for (std::size_t i = 0; i < parsed.options.size(); ++i) {
    const po::option& o = parsed.options[i];
    const po::option_description* d =
        o.string_key.empty() ? nullptr : parsed.description->find_nothrow(o.string_key, false);
    if (o.position_key < 0 && !o.unregistered && !collects(d) && last.count(o.string_key) && last[o.string_key] != i)
      continue;
    kept.push_back(o);
  }
  parsed.options.swap(kept);
}

// An option given by name and also as the positional argument that stands for it (eval --hyp
// H H2): Boost would say "option '--hyp' cannot be specified more than once", which the user did
// not do. Records the options a positional argument set in cl.given_positionally.
void refuse_positional_twins(command_line& cl, const po::parsed_options& parsed) {
  std::set<std::string> named;
  for (const po::option& o : parsed.options) (o.position_key < 0 ? named : cl.given_positionally).insert(o.string_key);
  for (const std::string& k : cl.given_positionally)
    if (named.count(k) && !collects(parsed.description->find_nothrow(k, false)))
      throw usage_error(given_twice_message(cl.positional_noun.empty() ? "--" + k : cl.positional_noun, "--" + k));
}

}  // namespace

std::string given_twice_message(const std::string& noun, const std::string& option) {
  return "give " + noun + " once: " + option + " FILE or a positional FILE, not both";
}

void refuse_plus_signs(const po::parsed_options& parsed) {
  for (const po::option& o : parsed.options) {
    const po::option_description* d =
        o.string_key.empty() ? nullptr : parsed.description->find_nothrow(o.string_key, false);
    const auto* typed = d ? dynamic_cast<const po::typed_value_base*>(d->semantic().get()) : nullptr;
    if (!typed) continue;
    const std::type_info& t = typed->value_type();
    const bool number = t == typeid(int) || t == typeid(unsigned) || t == typeid(long) || t == typeid(unsigned long) ||
                        t == typeid(long long) || t == typeid(unsigned long long) || t == typeid(float) ||
                        t == typeid(double);
    if (!number) continue;
    for (const std::string& v : o.value)
      if (!v.empty() && v[0] == '+')
        throw po::error("the argument ('" + v + "') for option '--" + o.string_key + "' is invalid");
  }
}

bool parse(command_line& cl, const args& argv, po::variables_map& vm) {
  int threads = 0;
  cl.options.add_options()
      ("threads", po::value(&threads)->default_value(0), "threads for BLAS and parallel loops (0 = all cores)")
      ("help,h", "show this help");
  if (!cl.options.find_nothrow("quiet", false))
    cl.options.add_options()("quiet,q", po::bool_switch(&cl.quiet), "no notes on stderr (warnings and errors still)");
  try {
    po::parsed_options parsed =
        po::command_line_parser(spell_flags(cl, argv)).options(cl.options).positional(cl.positional).run();
    keep_last_occurrences(parsed);
    refuse_plus_signs(parsed);
    refuse_positional_twins(cl, parsed);
    po::store(parsed, vm);
    if (vm.count("help")) {
      std::cout << "usage: " << cl.usage << "\n\n" << cl.options << "\n";
      return false;
    }
    // Boost reads "-1" into an unsigned option as a huge number: refuse it instead.
    for (const auto& [name, v] : vm) {
      const boost::any& a = v.value();
      if (a.type() == typeid(std::size_t) && boost::any_cast<std::size_t>(a) > (std::size_t{1} << 62))
        throw usage_error("--" + name + " must be a non-negative integer, not '" +
                          std::to_string(static_cast<long long>(boost::any_cast<std::size_t>(a))) + "'");
      if (a.type() == typeid(unsigned) && boost::any_cast<unsigned>(a) > (1u << 30))
        throw usage_error("--" + name + " must be a non-negative integer, not '" +
                          std::to_string(static_cast<int>(boost::any_cast<unsigned>(a))) + "'");
    }
    po::notify(vm);
    if (threads < 0) throw usage_error("--threads must be 0 (all cores) or more");
    // Ranks of one machine share its cores: by default each takes its share (mpirun usually
    // binds each rank to its own cores already, which available_cores() sees).
    const int used = set_threads(threads == 0 && local_processes() > 1
                                     ? std::max(1, available_cores() / local_processes())
                                     : threads);
    if (threads > used)
      std::cerr << "attn " << cl.name << ": warning: --threads " << threads << " is more than the " << used
                << " cores here; using " << used << "\n";
  } catch (const po::error& e) {
    throw usage_error(option_error_message(e) + " (see 'attn " + cl.name + " --help')");
  }
  return true;
}

input::input(const std::string& path) : path_(path) {
  if (path == "-") {
    in_ = &std::cin;
    return;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw attn::error("cannot read '" + path + "': it is a directory");
  file_ = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file_) throw attn::error("cannot open '" + path + "': " + std::strerror(errno));
  in_ = file_.get();
}

// A buffered std::streambuf over an atomic_file. Write errors throw attn::error out of the
// stream (badbit is set to rethrow), so "No space left on device" reaches the user as such.
class atomic_streambuf : public std::streambuf {
 public:
  explicit atomic_streambuf(const std::string& path) : file_(path), buffer_(1 << 16) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  void commit() {
    drain();
    file_.commit();
  }

 protected:
  int_type overflow(int_type c) override {
    drain();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    drain();
    return 0;
  }

 private:
  void drain() {
    const std::size_t n = static_cast<std::size_t>(pptr() - pbase());
    if (n > 0) file_.write(pbase(), n);
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  atomic_file file_;
  std::vector<char> buffer_;
};

output::output(const std::string& path) : path_(path) {
  if (path == "-") {
    out_ = &std::cout;
    return;
  }
  buf_ = std::make_unique<atomic_streambuf>(path);
  file_ = std::make_unique<std::ostream>(buf_.get());
  file_->exceptions(std::ios::badbit);
  out_ = file_.get();
}

output::~output() = default;

void output::close() {
  if (!buf_) {
    out_->flush();
    if (!*out_) throw attn::error("error writing to standard output");
    return;
  }
  buf_->commit();
}

named_path adapter_base_input(const std::string& base_option, const std::string& base_read) {
  return {base_option.empty() ? "the adapter's base" : "--base", base_read};
}

void refuse_overwrite(const std::vector<named_path>& inputs, const std::vector<named_path>& outputs) {
  if (const std::string problem = overwrite_problem(inputs, outputs); !problem.empty()) throw usage_error(problem);
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace attn::cli
