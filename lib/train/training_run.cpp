#include "train/training_run.h"

#include <algorithm>
#include <istream>

#include "core/error.h"
#include "data/batching.h"

namespace attn {

dataset read_training_file(std::istream& in, const std::string& path, const dataset_options& opts, training_data& d,
                           const warning_sink& warn) {
  if (!d.src) throw error("no vocabulary");
  data_report report;
  dataset out = read_dataset(in, path, opts, *d.src, d.tgt(), d.labels, report);
  // Nothing usable: one error line (the skip summary would only repeat it); else the warnings.
  if (out.examples.empty()) throw error(no_examples_message(report, path, opts.format, opts.max_len));
  for (const std::string& line : report_warnings(report, path, opts.max_len)) warn(line);
  return out;
}

train_options with_schedule_total(train_options o, const dataset& train, int processes) {
  if (o.schedule.kind != "cosine") return o;
  const std::size_t shards = static_cast<std::size_t>(std::max(processes, 1)) *
                             static_cast<std::size_t>(std::max<std::int64_t>(o.accum_steps, 1));
  const auto per_epoch = static_cast<std::int64_t>(
      make_batches(train.lengths, global_batching(o.batching, shards), o.seed, 0).size());
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

train_options run_options_for(const training_run_inputs& in) {
  if (!in.data) throw error("run_training: no data");
  return with_schedule_total(in.options, in.data->train, in.group ? in.group->size() : 1);
}

run_result run_training(const training_run_inputs& in, model& m, optimizer& opt, rng& gen, train_state& state,
                        const training_run_callbacks& cb) {
  run_result out;
  out.options = run_options_for(in);
  train_inputs ti;
  ti.train = &in.data->train;
  ti.valid = in.has_valid ? &in.data->valid : nullptr;
  ti.base = run_checkpoint_base(in.base, in.model, in.train_config, *in.data);
  if (cb.on_event) ti.on_event = [&](const train_event& e) { cb.on_event(e, out.options); };
  ti.stop_requested = cb.stop_requested;
  ti.group = in.group;
  const train_result r = train(m, opt, gen, state, out.options, ti);
  out.status = r.status;
  out.message = r.message;
  out.seconds = r.seconds;
  out.sync_seconds = r.sync_seconds;
  return out;
}

}  // namespace attn
