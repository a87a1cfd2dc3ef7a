#include "commands.h"

#include <cstdio>
#include <exception>
#include <iostream>
#include <new>

#include "core/error.h"
#include "processes.h"

namespace attn::cli {

const std::vector<command>& commands() {
  static const std::vector<command> table = {
      {"vocab", cmd_vocab, "build a vocabulary (char, word or byte-level BPE) from text"},
      {"tokenize", cmd_tokenize, "turn text into ids or pieces with a vocabulary, and back (--decode)"},
      {"train", cmd_train, "train a model (transformer, rnn, lm, classifier) and write a checkpoint"},
      {"finetune", cmd_finetune, "continue training a checkpoint on new data"},
      {"decode", cmd_decode, "translate or generate text with a checkpoint (greedy, beam, sampling)"},
      {"attention", cmd_attention, "dump attention weights as CSV, SVG heatmaps or an HTML viewer"},
      {"eval", cmd_eval, "score hypotheses or a model: BLEU, perplexity, accuracy"},
      {"inspect", cmd_inspect, "print what a checkpoint holds"},
      {"plot", cmd_plot, "draw training curves from attn train --log CSVs as SVG"},
      {"merge", cmd_merge, "fold a LoRA adapter into its base: a plain checkpoint"},
  };
  return table;
}

namespace {

void print_overview(std::ostream& out) {
  out << "attn " << ATTN_VERSION << " - build, train and study attention models from the shell\n\n"
      << "usage: attn <command> [options]    (attn <command> --help for its options)\n\n"
      << "commands:\n";
  for (const auto& c : commands()) {
    std::string name = c.name;
    name.resize(11, ' ');
    out << "  " << name << c.summary << "\n";
  }
  // What startup.h sets, and how to choose otherwise.
  out << "\nenvironment (attn sets the first at start and executes itself once; yours are kept):\n"
      << "  GLIBC_TUNABLES           malloc keeps freed memory, huge pages (attn adds glibc.malloc.*)\n"
      << "  ATTN_MALLOC=glibc        leave malloc as glibc configures it\n";
}

}  // namespace

std::string one_line(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
    out += hex;
  }
  return out;
}

int dispatch(const args& argv) {
  if (argv.empty()) {  // no command: a usage error, the overview on stderr (stdout stays data)
    print_overview(std::cerr);
    return 2;
  }
  if (argv[0] == "help" || argv[0] == "--help" || argv[0] == "-h") {
    if (argv.size() >= 2 && argv[0] == "help") return dispatch({argv[1], "--help"});
    print_overview(std::cout);
    return 0;
  }
  if (argv[0] == "--version" || argv[0] == "-V") {
    std::cout << "attn " << ATTN_VERSION << "\n";
    return 0;
  }
  const std::string& name = argv[0];
  for (const auto& c : commands()) {
    if (name != c.name) continue;
    // Under mpirun every rank prints its errors (prefixed with its rank but for rank 0) and one
    // failing rank ends them all: none waits forever in a collective.
    auto fail = [&](int code, const std::string& message) {
      // One write, so that the lines of several ranks do not interleave.
      std::cerr << ("attn " + one_line(name) + ": " + rank_prefix() + one_line(message) + "\n");
      end_all_after_error(code);
      return code;
    };
    try {
      if (process_count() > 1 && name != "train" && name != "finetune")
        throw usage_error("only train and finetune run as several processes; start attn " + name +
                          " without mpirun (or with -np 1)");
      return c.run(args(argv.begin() + 1, argv.end()));
    } catch (const usage_error& e) {
      return fail(2, e.what());
    } catch (const std::bad_alloc&) {
      return fail(1, "out of memory");
    } catch (const std::exception& e) {
      return fail(1, e.what());
    }
  }
  std::cerr << "attn: unknown command '" << one_line(name) << "' (see 'attn help')\n";
  return 2;
}

}  // namespace attn::cli
