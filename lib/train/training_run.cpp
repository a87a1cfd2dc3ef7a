#include "train/training_run.h"

#include <istream>

#include "core/error.h"
#include "data/batching.h"

namespace attn {

dataset read_training_file(std::istream& in, const std::string& path, const dataset_options& opts,
                           training_data& d, const warning_sink& warn) {
  if (!d.src) throw error("no vocabulary");
  data_report report;
  dataset out = read_dataset(in, path, opts, *d.src, d.tgt(), d.labels, report);
  if (report.malformed > 0) {
    warn(std::to_string(report.malformed) + " malformed line" + (report.malformed > 1 ? "s" : "") + " of " +
         std::to_string(report.lines) + " in " + path + " skipped:");
    for (const auto& p : report.problems) warn("  " + p);
    if (report.malformed > report.problems.size()) warn("  ...");
  }
  if (report.truncated > 0)
    warn(std::to_string(report.truncated) + " examples in " + path + " truncated to --max-len " +
         std::to_string(opts.max_len));
  if (report.skipped_long > 0)
    warn(std::to_string(report.skipped_long) + " examples in " + path + " longer than --max-len " +
         std::to_string(opts.max_len) + " skipped");
  if (out.examples.empty()) throw error("'" + path + "' holds no usable examples");
  return out;
}

train_options with_schedule_total(train_options o, const dataset& train) {
  if (o.schedule.kind != "cosine") return o;
  const auto per_epoch = static_cast<std::int64_t>(make_batches(train.lengths, o.batching, o.seed, 0).size());
  o.schedule.total = o.steps > 0 ? o.steps : o.epochs * per_epoch;
  if (o.schedule.total <= o.schedule.warmup) o.schedule.total = o.schedule.warmup + 1;
  return o;
}

checkpoint run_checkpoint_base(checkpoint base, const model_config& mc,
                               const std::map<std::string, std::string>& train_config, const training_data& d) {
  base.model_config = mc.to_map();
  base.train_config = train_config;
  write_checkpoint_record(d, base);
  return base;
}

}  // namespace attn
