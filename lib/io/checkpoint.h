#pragma once
// The checkpoint file: everything needed to decode with a model, or to resume its training
// exactly, in one file. Layout, checksum and versioning policy: docs/checkpoints.md.
//
//   header   "ATTNCKPT" | format u32 | flags u32 | payload bytes u64 | FNV-1a-64 of payload u64
//   payload  a Boost.Serialization binary archive of `checkpoint`
//
// Loading checks, in order: magic ("not an attn checkpoint"), format ("written by a newer
// attn"), length against the file size ("truncated"), checksum ("corrupt"), and only then
// deserializes, with every size read bounded by the bytes left. Every failure is one attn::error
// line naming the file. Saving is atomic (io/atomic_file.h).
//
// This layer knows no model types: configs and vocabularies are stored as text.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/parameter.h"
#include "core/tensor.h"
#include "io/named_state.h"

namespace attn {

// The format this build writes, and the newest it reads (it reads every format from 1 up).
constexpr std::uint32_t checkpoint_format = 1;

struct checkpoint_param {
  std::string name;
  matrix value;  // [rows, cols], the floats bit for bit
  bool trainable = true;
  bool decay = true;
};

struct checkpoint {
  std::map<std::string, std::string> model_config;   // resolved model settings, key -> value
  std::map<std::string, std::string> vocabularies;   // role ("src", "tgt", "shared") -> vocab file text
  std::vector<checkpoint_param> params;              // in parameter_store creation order
  named_state optimizer;                             // optimizer::state(); empty for a bare model
  std::map<std::string, std::string> schedule;       // schedule_config_to_map(...)
  std::map<std::string, std::int64_t> counters;      // "step", "epoch", data position, ...
  std::string rng_state;                             // rng::state()
  std::map<std::string, std::string> train_config;   // the training options that produced it
  std::map<std::string, std::string> metadata;       // free form: "best_valid", "written_at", ...
};

// Writes atomically: on failure the previous file at `path`, if any, is intact.
void save_checkpoint(const std::string& path, const checkpoint& c);
// Throws attn::error for a missing, foreign, newer, truncated or corrupt file.
checkpoint load_checkpoint(const std::string& path);

// The same, in memory (what save/load do around the file I/O). `name` is used in errors.
std::string encode_checkpoint(const checkpoint& c);
checkpoint decode_checkpoint(const std::string& bytes, const std::string& name);

// Sets metadata "attn_version" (this build) and "written_at" (UTC, ISO 8601).
void stamp_checkpoint(checkpoint& c);

// Every parameter of the store (value, trainable, decay), in creation order; a parameter that
// shares another's value (models/model.h: share_model) exports the value it reads.
std::vector<checkpoint_param> export_parameters(const parameter_store& store);

struct import_options {
  bool allow_missing = false;     // store parameters absent from the checkpoint keep their values
  bool allow_unexpected = false;  // checkpoint parameters unknown to the store are ignored
  bool restore_flags = false;     // also copy trainable / decay from the checkpoint
};
// Copies values into an existing store. Every name and shape is verified, and every value is
// checked to be finite (no NaN or Inf), before anything is copied, so on error (naming the first
// mismatch, in store order) the store is unchanged.
void import_parameters(parameter_store& store, const std::vector<checkpoint_param>& params,
                       const import_options& opt = {});

}  // namespace attn
