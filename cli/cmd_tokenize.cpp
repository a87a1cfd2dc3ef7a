// attn tokenize: text -> ids or pieces with a vocabulary, one output line per input line;
// --decode goes back. See lib/text/token_stream.h for the exact stream format.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "core/error.h"
#include "options.h"
#include "progress.h"
#include "text/token_stream.h"
#include "text/tokenizer.h"
#include "text/vocab_file.h"

namespace attn::cli {

int cmd_tokenize(const args& argv) {
  command_line cl;
  cl.name = "tokenize";
  cl.usage = "attn tokenize -v VOCAB [--ids|--pieces] [--decode] [-o OUT] [FILE]";
  std::string vocab_path, in_path = "-", out_path = "-";
  bool ids = false, pieces = false, decode = false, stats = false;
  // clang-format off
  cl.options.add_options()
      ("vocab,v", po::value(&vocab_path)->required(), "vocabulary file (from attn vocab)")
      ("ids", po::bool_switch(&ids), "token ids separated by spaces (the default)")
      ("pieces", po::bool_switch(&pieces), "token pieces (escaped token text, space written \xE2\x96\x81) separated by spaces")
      ("decode,d", po::bool_switch(&decode), "read ids (or, with --pieces, pieces) and write text")
      ("output,o", po::value(&out_path)->default_value("-"), "output file ('-' = stdout)")
      ("stats", po::bool_switch(&stats), "print line, token and <unk> counts on stderr")
      ("input", po::value(&in_path)->default_value("-"), "input file ('-' = stdin)");
  // clang-format on
  cl.positional.add("input", 1);
  cl.positional_noun = "the input";
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (ids && pieces) throw usage_error("--ids and --pieces exclude each other");
  const token_format format = pieces ? token_format::pieces : token_format::ids;

  refuse_overwrite({{"", in_path}, {"-v", vocab_path}}, {{"-o", out_path}});
  const auto tok = make_tokenizer(load_vocab(vocab_path));
  std::error_code ec;
  if (in_path != "-" && std::filesystem::is_directory(in_path, ec))
    throw attn::error("cannot read '" + in_path + "': it is a directory");
  input in(in_path);
  output out(out_path);
  const std::string in_name = in_path == "-" ? "stdin" : in_path;
  const std::string out_name = out_path == "-" ? "stdout" : out_path;
  lines_progress shown(cl.name, show_lines_progress(cl.quiet, out_path));
  counted_input counted(in.stream(), shown);
  std::istream& text = shown.shown() ? counted.stream() : in.stream();
  const stream_counts c = decode ? decode_stream(*tok, text, out.stream(), format, in_name, out_name)
                                 : encode_stream(*tok, text, out.stream(), format, in_name, out_name);
  shown.done();
  out.close();
  if (stats)
    std::cerr << "attn tokenize: " << c.lines << " lines, " << c.tokens << " tokens, " << c.unknown << " <unk>\n";
  return 0;
}

}  // namespace attn::cli
