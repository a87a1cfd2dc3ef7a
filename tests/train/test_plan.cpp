// The training plan: the arithmetic of updates, epochs and validations; the parts of the peak;
// parameters by module (trainable, frozen, LoRA); and a calibration that leaves the model, the
// optimizer and the rng of the run as they were.
#include <doctest/doctest.h>

#include <memory>

#include "core/error.h"
#include "io/checkpoint.h"
#include "models/lora.h"
#include "models/model.h"
#include "models/model_helpers.h"
#include "test_helpers.h"
#include "train/freeze.h"
#include "train/plan.h"

using namespace attn;
using attn::models_testing::tiny_config;

namespace {

// lm windows of T tokens over the ids 4..10.
dataset lm_windows(std::size_t windows, std::size_t T) {
  dataset d;
  d.format = data_format::lm;
  for (std::size_t w = 0; w < windows; ++w) {
    example e;
    for (std::size_t t = 0; t < T; ++t) {
      e.src.push_back(static_cast<std::int32_t>(4 + (w + t) % 7));
      e.tgt.push_back(static_cast<std::int32_t>(4 + (w + t + 1) % 7));
    }
    d.lengths.push_back(T);
    d.examples.push_back(std::move(e));
  }
  return d;
}

train_options opts_steps(std::int64_t steps, std::int64_t epochs) {
  train_options o;
  o.steps = steps;
  o.epochs = epochs;
  return o;
}

}  // namespace

TEST_CASE("plan_updates_for: the limit reached first, the epochs it covers, from where the run stands") {
  train_state fresh;
  plan_updates u = plan_updates_for(10, opts_steps(25, 0), fresh, false);
  CHECK(u.updates == 25);
  CHECK(u.epochs == doctest::Approx(2.5));
  CHECK(u.limit == "steps");
  CHECK(u.updates_per_epoch == 10);
  CHECK(u.validations == 0);

  u = plan_updates_for(10, opts_steps(0, 3), fresh, false);
  CHECK(u.updates == 30);
  CHECK(u.epochs == doctest::Approx(3.0));
  CHECK(u.limit == "epochs");

  u = plan_updates_for(10, opts_steps(50, 2), fresh, false);  // both: the epochs end first
  CHECK(u.updates == 20);
  CHECK(u.limit == "epochs");

  train_state resumed;  // step 13 = epoch 1, batch 3
  resumed.step = 13;
  resumed.epoch = 1;
  resumed.batch_in_epoch = 3;
  u = plan_updates_for(10, opts_steps(0, 3), resumed, false);
  CHECK(u.updates == 17);
  CHECK(u.start_step == 13);
  u = plan_updates_for(10, opts_steps(20, 0), resumed, false);
  CHECK(u.updates == 7);
  u = plan_updates_for(10, opts_steps(10, 0), resumed, false);  // past its limit already
  CHECK(u.updates == 0);
  CHECK(u.epochs == 0);

  CHECK_THROWS_AS(plan_updates_for(10, opts_steps(0, 0), fresh, false), error);
  CHECK_THROWS_AS(plan_updates_for(0, opts_steps(5, 0), fresh, false), error);
}

TEST_CASE("plan_updates_for: validations as the loop makes them") {
  train_state fresh;
  // At every epoch end, and once more at a limit inside an epoch.
  CHECK(plan_updates_for(10, opts_steps(0, 3), fresh, true).validations == 3);
  CHECK(plan_updates_for(10, opts_steps(0, 3), fresh, true).validations_in_loop == 3);
  CHECK(plan_updates_for(10, opts_steps(25, 0), fresh, true).validations == 3);
  CHECK(plan_updates_for(10, opts_steps(25, 0), fresh, true).validations_in_loop == 2);
  CHECK(plan_updates_for(10, opts_steps(6, 0), fresh, true).validations_in_loop == 0);  // only after the loop
  // Every N steps, and at the limit when it is not a multiple of N.
  train_options o = opts_steps(25, 0);
  o.valid_every = 5;
  CHECK(plan_updates_for(10, o, fresh, true).validations == 5);
  o.valid_every = 10;
  CHECK(plan_updates_for(10, o, fresh, true).validations == 3);
  train_state resumed;
  resumed.step = 12;
  resumed.epoch = 1;
  resumed.batch_in_epoch = 2;
  CHECK(plan_updates_for(10, o, resumed, true).validations == 2);  // at 20, and the limit 25
}

TEST_CASE("plan_peak: the fixed parts plus the largest of the phases, or the loading peak") {
  plan_memory m;
  m.parameters = 100;
  m.gradients = 100;
  m.optimizer = 200;
  m.other = 50;
  m.activations = 300;
  m.checkpoint = 600;
  m.validation = 40;
  CHECK(plan_peak(m, false, false) == doctest::Approx(450 + 600));  // the final save
  m.checkpoint = 120;
  CHECK(plan_peak(m, false, false) == doctest::Approx(450 + 300));       // an update
  CHECK(plan_peak(m, true, false) == doctest::Approx(450 + 300 + 120));  // a save of .best inside the loop
  CHECK(plan_peak(m, false, true) == doctest::Approx(450 + 300 + 120));  // --save-every
  m.checkpoint = 10;
  CHECK(plan_peak(m, true, false) == doctest::Approx(450 + 300 + 40));  // a validation inside the loop
  m.loading = 5000;
  CHECK(plan_peak(m, true, false) == doctest::Approx(5000));
  CHECK(m.peak == doctest::Approx(5000));
}

TEST_CASE("plan_parameters_of: trainable, frozen and LoRA values by module add up to the store") {
  rng gen(3);
  std::unique_ptr<model> m = make_model(tiny_config("lm"), gen);
  const std::size_t all = m->params().element_count();
  plan_parameters p = plan_parameters_of(m->params());
  CHECK(p.total == all);
  CHECK(p.trainable == all);
  CHECK(p.frozen + p.lora == 0);
  CHECK(p.tensors == m->params().size());

  const freeze_result f = freeze_parameters(m->params(), {"embed"});
  p = plan_parameters_of(m->params());
  CHECK(p.frozen == f.values);
  CHECK(p.trainable + p.frozen == all);

  lora_options lo;
  lo.rank = 2;
  const lora_attachment a = attach_lora(m->params(), lo, gen);
  p = plan_parameters_of(m->params());
  CHECK(p.lora == a.adapter_values);
  CHECK(p.trainable == 0);
  CHECK(p.frozen == all);
  CHECK(p.total == all + a.adapter_values);
  std::size_t sum = 0;
  for (const plan_module& mod : p.modules) sum += mod.trainable + mod.frozen + mod.lora;
  CHECK(sum == p.total);
}

TEST_CASE("plan_training: the bytes add up, the calibration leaves the run's model, optimizer and rng as they were") {
  rng gen(5);
  model_config mc = tiny_config("lm");
  mc.dropout = 0.1f;  // the calibration draws from (a copy of) the rng
  std::unique_ptr<model> m = make_model(mc, gen);
  optimizer_config oc;  // adamw: 2 slots
  std::unique_ptr<optimizer> opt = make_optimizer(oc);
  training_data d;
  d.train = lm_windows(40, 6);
  d.valid = lm_windows(8, 6);
  training_run_inputs in;
  in.data = &d;
  in.has_valid = true;
  in.model = mc;
  in.options.batching.batch_tokens = 0;
  in.options.batching.batch_size = 4;  // x 2 accumulation steps: 5 updates per epoch
  in.options.epochs = 0;
  in.options.steps = 12;
  in.options.accum_steps = 2;

  const std::vector<checkpoint_param> before = export_parameters(m->params());
  const std::string gen_before = gen.state();
  train_state state;
  const training_plan p = plan_training(in, *m, *opt, gen, state);

  // Nothing the run would use has changed.
  const std::vector<checkpoint_param> after = export_parameters(m->params());
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].value == before[i].value);
  CHECK(gen.state() == gen_before);
  CHECK(opt->state().tensors.empty());
  CHECK(opt->steps() == 0);
  CHECK(state.step == 0);

  const double values = static_cast<double>(m->params().element_count());
  CHECK(p.parameters.total == m->params().element_count());
  CHECK(p.memory.parameters == doctest::Approx(4 * values));
  CHECK(p.memory.gradients == doctest::Approx(4 * values));
  CHECK(p.memory.optimizer == doctest::Approx(2 * 4 * values));
  CHECK(p.optimizer_state_bytes == p.memory.optimizer);
  CHECK(p.optimizer_slots == 2);
  CHECK(p.memory.activations > 0);
  CHECK(p.memory.validation > 0);
  // one copy of what a checkpoint stores, and save_checkpoint's 1 MiB buffer (the encoding streams)
  CHECK(p.memory.checkpoint >= p.memory.parameters + p.memory.optimizer + (1 << 20));
  CHECK(p.memory.checkpoint < 2 * (p.memory.parameters + p.memory.optimizer) + (1 << 20));
  CHECK(p.memory.peak >= p.memory.parameters + p.memory.gradients + p.memory.optimizer + p.memory.activations);

  CHECK(p.updates.updates_per_epoch == 5);
  CHECK(p.updates.accum_steps == 2);
  CHECK(p.updates.updates == 12);
  CHECK(p.updates.epochs == doctest::Approx(12.0 / 5));
  CHECK(p.updates.examples_per_update == doctest::Approx(8.0));
  CHECK(p.updates.tokens_per_update == doctest::Approx(8.0 * 6));
  CHECK(p.updates.padded_tokens_per_update == doctest::Approx(8.0 * 6));
  CHECK(p.updates.validations == 3);  // epoch ends at 5 and 10, and the limit at 12

  // 4 updates, and up to settle_steps more while the first timed one is still warming up.
  CHECK(p.time.calibration_steps >= 4);
  CHECK(p.time.calibration_steps <= 4 + plan_settings{}.settle_steps);
  CHECK(p.time.seconds_per_update > 0);
  CHECK(p.time.warmup_seconds >= 0);
  CHECK(p.time.run_seconds == doctest::Approx(12 * p.time.seconds_per_update + 3 * p.time.validation_seconds +
                                              p.time.warmup_seconds));

  // No room to settle: exactly the calibration's updates.
  plan_settings exact;
  exact.settle_steps = 0;
  CHECK(plan_training(in, *m, *opt, gen, state, exact).time.calibration_steps == 4);

  // No calibration: no time, the formula's activations.
  plan_settings none;
  none.calibration_steps = 0;
  const training_plan q = plan_training(in, *m, *opt, gen, state, none);
  CHECK(q.time.calibration_steps == 0);
  CHECK(q.time.run_seconds == 0);
  CHECK(q.memory.activations == q.memory.formula_activations);
  CHECK_FALSE(q.memory.measured);
}

TEST_CASE("plan_training: LoRA adapters on a frozen base; the checkpoint holds only the adapters") {
  rng gen(9);
  model_config mc = tiny_config("lm");
  std::unique_ptr<model> m = make_model(mc, gen);
  lora_options lo;
  lo.rank = 2;
  const lora_attachment a = attach_lora(m->params(), lo, gen);
  std::unique_ptr<optimizer> opt = make_optimizer(optimizer_config{});
  training_data d;
  d.train = lm_windows(16, 5);
  training_run_inputs in;
  in.data = &d;
  in.model = mc;
  in.options.batching.batch_tokens = 0;
  in.options.batching.batch_size = 4;
  in.options.epochs = 2;
  lora_reference ref{lo, "base.ckpt", "0123456789abcdef"};
  write_lora_reference(ref, in.base);

  const std::vector<checkpoint_param> before = export_parameters(m->params());
  train_state state;
  const training_plan p = plan_training(in, *m, *opt, gen, state);
  const std::vector<checkpoint_param> after = export_parameters(m->params());
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].value == before[i].value);

  CHECK(p.parameters.lora == a.adapter_values);
  CHECK(p.memory.gradients == doctest::Approx(4.0 * static_cast<double>(a.adapter_values)));
  CHECK(p.memory.optimizer == doctest::Approx(2 * 4.0 * static_cast<double>(a.adapter_values)));
  // adapters and their state only (and save_checkpoint's 1 MiB buffer), not the base
  CHECK(p.memory.checkpoint - (1 << 20) < p.memory.parameters);
  CHECK(p.updates.updates == 8);
  CHECK(p.updates.limit == "epochs");
  CHECK(p.updates.validations == 0);
}
