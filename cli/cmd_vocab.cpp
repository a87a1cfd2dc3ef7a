// attn vocab: build a char, word or byte-level BPE vocabulary from text files or stdin.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "options.h"
#include "text/corpus.h"
#include "text/vocab_builder.h"
#include "text/vocab_file.h"

namespace attn::cli {

namespace {

// Progress on stderr, only once a run has taken more than a second (small inputs stay quiet):
// one rewritten line on a terminal, plain lines (at most one a second) in a log file.
class progress_log {
 public:
  explicit progress_log(bool enabled) : enabled_(enabled), tty_(stderr_is_terminal()) {}
  void say(const std::string& msg) {
    const auto now = clock::now();
    if (!enabled_ || now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    shown_ = true;
    if (tty_)
      std::cerr << "\rattn vocab: " << msg << "\x1b[K" << std::flush;
    else
      std::cerr << "attn vocab: " << msg << "\n";
  }
  void finish(const std::string& msg) {
    if (!shown_) return;
    std::cerr << (tty_ ? "\r" : "") << "attn vocab: " << msg << (tty_ ? "\x1b[K\n" : "\n");
  }
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  bool enabled_, tty_, shown_ = false;
  clock::time_point start_ = clock::now(), last_ = start_;
};

}  // namespace

int cmd_vocab(const args& argv) {
  command_line cl;
  cl.name = "vocab";
  cl.usage = "attn vocab --type char|word|bpe --size N [options] -o VOCAB [FILE...]";
  std::string type, column_text, out_path;
  int64_t size = 0, min_freq = 1;
  bool lowercase = false, quiet = false;
  std::vector<std::string> specials, inputs;
  // clang-format off
  cl.options.add_options()
      ("type,t", po::value(&type)->required(),
       "tokenizer kind: char (code points), word (words and punctuation) or bpe (byte-level BPE)")
      ("size,s", po::value(&size)->required(),
       "number of tokens, the 4 fixed specials <pad> <unk> <bos> <eos> and --special ones included")
      ("min-freq", po::value(&min_freq)->default_value(1),
       "char/word: keep tokens seen at least K times; bpe: stop merging below K")
      ("lowercase", po::bool_switch(&lowercase),
       "lowercase text before counting (recorded in the vocabulary; tokenize then lowercases too)")
      ("special", po::value(&specials)->composing(), "an extra special token, never split (repeatable); ids 4, 5, ...")
      ("column", po::value(&column_text), "read only tab-separated field N (1-based, like cut -f), or 'all' for every field")
      ("output,o", po::value(&out_path)->required(), "vocabulary file to write ('-' = stdout)")
      ("quiet,q", po::bool_switch(&quiet), "no progress on stderr")
      ("input", po::value(&inputs), "text files ('-' = stdin, the default)");
  // clang-format on
  cl.positional.add("input", -1);
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;

  vocab_options opts;
  if (!parse_kind(type, opts.kind)) throw usage_error("--type must be char, word or bpe, not '" + type + "'");
  if (size < 1) throw usage_error("--size must be a positive number");
  if (min_freq < 1) throw usage_error("--min-freq must be at least 1");
  opts.size = static_cast<std::size_t>(size);
  opts.min_freq = static_cast<uint64_t>(min_freq);
  opts.lowercase = lowercase;
  opts.specials = specials;
  if (const std::string problem = vocab_options_problem(opts); !problem.empty()) throw usage_error(problem);
  column_spec column;
  if (vm.count("column") && !parse_column(column_text, column))
    throw usage_error("--column takes a field number from 1 or 'all', not '" + column_text + "'");
  if (inputs.empty()) inputs.push_back("-");
  std::vector<named_path> input_paths;
  for (const auto& path : inputs) input_paths.push_back({"", path});
  refuse_overwrite(input_paths, {{"-o", out_path}});

  progress_log log(!quiet);
  vocab_builder builder(opts);
  uint64_t total_bytes = 0;
  for (const auto& path : inputs) {
    std::error_code ec;
    if (path != "-" && std::filesystem::is_directory(path, ec))
      throw attn::error("cannot read '" + path + "': it is a directory");
    input in(path);
    const std::string name = path == "-" ? "stdin" : path;
    total_bytes += add_corpus(builder, in.stream(), name, column, [&](uint64_t bytes) {
      log.say("reading " + name + ": " + std::to_string((total_bytes + bytes) >> 20) + " MB, " +
              std::to_string(builder.distinct()) + " distinct " +
              (opts.kind == tokenizer_kind::char_level ? "characters" : "words"));
    });
  }
  const vocab v = builder.build([&](std::size_t done, std::size_t target) {
    log.say("merging: " + std::to_string(done) + " of " + std::to_string(target) + " tokens");
  });
  if (out_path == "-") {
    write_vocab(v, std::cout);
    std::cout.flush();
    if (!std::cout) throw attn::error("error writing the vocabulary to stdout");
  } else {
    output out(out_path);  // atomic: a crash never leaves half a vocabulary behind
    write_vocab(v, out.stream());
    out.close();
  }
  // Fewer tokens than asked: said whatever the run's length (the summary below only follows progress).
  if (v.size() < opts.size && !quiet)
    std::cerr << "attn vocab: " << v.size() << " tokens, fewer than --size " << opts.size << ": the data holds no more "
              << (opts.kind == tokenizer_kind::bpe ? "merges"
                  : opts.kind == tokenizer_kind::word
                      ? "distinct words seen --min-freq " + std::to_string(min_freq) + " or more times"
                      : "distinct characters")
              << "\n";
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", log.seconds());
  log.finish(std::to_string(v.size()) + " tokens" +
             (v.kind == tokenizer_kind::bpe ? " (" + std::to_string(v.merges.size()) + " merges)" : "") + " from " +
             std::to_string(builder.distinct()) + " distinct " +
             (opts.kind == tokenizer_kind::char_level ? "characters" : "words") + " in " + secs + " s");
  return 0;
}

}  // namespace attn::cli
