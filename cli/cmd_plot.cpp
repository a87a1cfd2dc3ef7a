// attn plot LOG.csv [LOG2.csv ...] -o curves.svg: the training curves of one or more runs
// (`attn train --log`) as one SVG, one panel per metric, runs overlaid (lib/viz/curves_svg.h).
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "options.h"
#include "viz/curves_svg.h"
#include "viz/training_log.h"

namespace attn::cli {

int cmd_plot(const args& argv) {
  std::vector<std::string> log_paths;
  std::string output_path = "-";
  viz::curves_options o;
  command_line cl;
  cl.name = "plot";
  cl.usage = "attn plot LOG.csv [LOG2.csv ...] [-o curves.svg]    (logs written by attn train --log)";
  // clang-format off
  cl.options.add_options()
      ("output,o", po::value(&output_path)->default_value("-"), "the SVG to write (- = stdout), written atomically")
      ("smooth", po::value(&o.smoothing)->default_value(0.9, "0.9"),
       "weight of the moving average drawn over the training loss, in [0, 1) (0 = raw only)")
      ("logs", po::value(&log_paths), "training logs (CSV from attn train --log); each run is labelled by its file name");
  // clang-format on
  cl.positional.add("logs", -1);
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (log_paths.empty()) throw usage_error("no log given (attn plot LOG.csv [LOG2.csv ...] -o curves.svg)");
  if (!(o.smoothing >= 0 && o.smoothing < 1)) throw usage_error("--smooth must be in [0, 1)");
  std::vector<named_path> inputs;
  for (const std::string& path : log_paths) inputs.push_back({"", path});
  refuse_overwrite(inputs, {{"-o", output_path}});

  std::vector<viz::training_log> logs;
  for (const std::string& path : log_paths) {
    std::error_code ec;
    if (path != "-" && std::filesystem::is_directory(path, ec))
      throw attn::error("cannot read '" + path + "': it is a directory");
    input in(path);
    logs.push_back(viz::read_training_log(in.stream(), path == "-" ? "stdin" : path));
    if (in.stream().bad()) throw attn::read_error(path);
  }
  output out(output_path);
  viz::write_curves_svg(logs, out.stream(), o);
  out.close();
  return 0;
}

}  // namespace attn::cli
