// The --config FILE reader of attn train / attn finetune (read_config_file in
// cli/train_command.cpp), reached in-process through parse_train_command and
// parse_finetune_command: the payload is written to a temporary file and passed as --config.
// mode % 4 picks the rest of the command line:
//   0  train --config F                                  (the file must supply everything)
//   1  train --arch lm --train D -o O --config F        (the file's architecture/training keys are parsed)
//   2  train --arch transformer --train D -o O --config F
//   3  finetune -m MISSING --train D -o O --config F     (finetune's option set; fails at loading BASE)
// D is a one-line data file; O is never written (parsing writes nothing).
// Asserts: parsing returns or throws attn::error or usage_error (the two kinds `attn` reports as
// exit 1 and 2); no other exception, crash or hang; an accepted command holds --arch and --train.
#include <fstream>

#include "core/error.h"
#include "fuzz_common.h"
#include "train_command.h"

using namespace attn;

namespace {

void write(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fuzz::finding("cannot write " + path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::temp_file config("config"), train("config-train");
  static const fuzz::temp_file output("config-output");  // never created
  static const bool ready = (write(train.path, "a b\tb a\n"), true);
  (void)ready;
  const fuzz::input in = fuzz::split_input(data, size);
  // Boost's error placeholders (%value%, %invalid_line%, ...) in a value once made what() loop
  // forever; option_error_message (cli/options.h) formats them safely, so they stay in play.
  write(config.path, in.payload);

  const int variant = in.mode % 4;
  cli::args argv;
  if (variant == 1) argv = {"--arch", "lm", "--train", train.path, "-o", output.path};
  if (variant == 2) argv = {"--arch", "transformer", "--train", train.path, "-o", output.path};
  if (variant == 3) argv = {"-m", "/nonexistent/attn-fuzz-base.ckpt", "--train", train.path, "-o", output.path};
  argv.push_back("--config");
  argv.push_back(config.path);

  cli::train_command cmd;
  bool parsed = false;
  try {
    parsed = variant == 3 ? cli::parse_finetune_command(argv, cmd) : cli::parse_train_command(argv, cmd);
  } catch (const attn::error&) {
    return 0;
  } catch (const cli::usage_error&) {
    return 0;
  } catch (const std::exception& e) {
    fuzz::finding(fuzz::unexpected("parsing --config", e));
  }
  if (parsed && variant != 3) {
    fuzz::require(cmd.values.count("arch") && cmd.values.count("train"), "an accepted command lacks --arch or --train");
    fuzz::require(!cmd.output.empty(), "an accepted command has no output");
  }
  return 0;
}
