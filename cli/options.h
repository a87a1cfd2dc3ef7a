#pragma once
// Shared option handling for subcommands: parse with Boost.Program_options, turn its
// errors into usage_error, print `--help` with defaults, and open `-`-aware streams.
#include <boost/program_options.hpp>
#include <fstream>
#include <iosfwd>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "io/same_file.h"

namespace attn::cli {

namespace po = boost::program_options;

struct command_line {
  const char* name;           // subcommand, for messages
  const char* usage;          // e.g. "attn vocab [options] FILE..."
  po::options_description options{"options"};
  po::positional_options_description positional;
  bool quiet = false;  // -q/--quiet, which parse() adds where a subcommand has none of its own
  // What the positional argument is, for the error when its option is given too ("the input";
  // empty: "--input" once). Options that collect several values take both.
  std::string positional_noun;
  std::set<std::string> given_positionally;  // filled by parse(): options set by a positional argument
};

// "give the hypotheses once: --hyp FILE or a positional FILE, not both": the usage error for an
// option given by name and as the positional argument that stands for it.
std::string given_twice_message(const std::string& noun, const std::string& option);

// Parses args into vm. Returns false when --help was asked for (help already printed on stdout).
// Every subcommand also gets --threads N (0 = all cores), applied here with set_threads(); more
// threads than the machine's cores are capped to the cores, with one warning on stderr. And
// -q/--quiet (no notes on stderr; warnings and errors still), unless it declares its own.
// Unknown options, missing values and bad numbers (a '+' sign too, which Boost would read) and
// an option given both by name and positionally throw usage_error.
bool parse(command_line& cl, const args& argv, po::variables_map& vm);

// Boost reads a number with lexical_cast, which refuses " 5" and "0x5" but takes "+5": this
// refuses that too (po::error, in Boost's words), so every numeric option, on the command line or
// in a --config file, has core/text_codec.h's one spelling. parse() calls it.
void refuse_plus_signs(const po::parsed_options& parsed);

// The message of a Boost.Program_options error, safe for any user text in it: Boost substitutes
// its placeholders until none is left, so a value holding "%value%" would never finish
// (`attn train --threads 'x%value%'` looped forever). Use this, never e.what().
std::string option_error_message(const po::error& e);

// An input stream for PATH, where "-" is stdin. Throws attn::error naming the file if it cannot be opened.
struct input {
  explicit input(const std::string& path);
  std::istream& stream() { return *in_; }
  const std::string& path() const { return path_; }
 private:
  std::string path_;
  std::unique_ptr<std::ifstream> file_;
  std::istream* in_;
};

// An output stream for PATH, where "-" is stdout. A file is written atomically (io/atomic_file.h):
// the old content stays in place until close() renames the finished file over it, so an error
// or a signal half-way leaves the old file intact. Devices and FIFOs are written in place.
class atomic_streambuf;
struct output {
  explicit output(const std::string& path);
  ~output();  // without close(): the file at PATH is left as it was
  std::ostream& stream() { return *out_; }
  void close();  // flushes, commits; throws attn::error if anything failed to write
 private:
  std::string path_;
  std::unique_ptr<atomic_streambuf> buf_;
  std::unique_ptr<std::ostream> file_;
  std::ostream* out_;
};

// Throws usage_error when an output is the same file as an input or another output
// (io/same_file.h): checked before anything is opened for writing.
void refuse_overwrite(const std::vector<named_path>& inputs, const std::vector<named_path>& outputs);
// The base checkpoint a LoRA adapter is read with, as one of the command's inputs: `base_read`,
// named --base when the user gave one (`base_option` not empty), else the path the adapter stores.
named_path adapter_base_input(const std::string& base_option, const std::string& base_read);

// True when stderr is a terminal (progress bars) rather than a pipe or file (plain log lines).
bool stderr_is_terminal();

}  // namespace attn::cli
