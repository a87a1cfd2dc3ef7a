// The training-data reader (data/dataset.h), every format, then make_batch over what it read.
// mode bits: 0-1 format (0 lm, 1 pairs, 2 labeled, 3 labeled without growing labels: validation),
// 2 strict, 3 long_policy::skip, 4-7 max_len (0..15: 0 and 1 reach the option errors), and the
// tokenizers: bpe for sources/text, word for targets when max_len is odd (else the same bpe).
// Asserts: read or rejected with attn::error; every example fits max_len as documented, holds
// only vocabulary ids, and the lm windows overlap by one token; counts in the report add up;
// batches have the documented shapes.
#include <sstream>

#include "core/error.h"
#include "data/dataset.h"
#include "fuzz_common.h"
#include "fuzz_vocabs.h"

using namespace attn;

namespace {

constexpr std::size_t bpe_case = 5, word_case = 3;  // fuzz_vocabs.h: bpe+specials, word+specials

void check_ids(const std::vector<int32_t>& ids, const tokenizer& tok, const char* what) {
  for (int32_t id : ids)
    if (id < 0 || static_cast<std::size_t>(id) >= tok.size())
      fuzz::finding(std::string(what) + " holds id " + std::to_string(id) + " outside the vocabulary");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::input in = fuzz::split_input(data, size);
  dataset_options opts;
  const int f = in.mode & 3;
  opts.format = f == 0 ? data_format::lm : f == 1 ? data_format::pairs : data_format::labeled;
  opts.grow_labels = f != 3;
  opts.strict = in.mode & 4;
  opts.too_long = (in.mode & 8) ? long_policy::skip : long_policy::truncate;
  opts.max_len = in.mode >> 4;
  opts.report_lines = 3;
  tokenizer& src = fuzz::fuzz_tokenizer(bpe_case);
  tokenizer& tgt = (opts.max_len & 1) ? fuzz::fuzz_tokenizer(word_case) : src;
  std::vector<std::string> labels;
  if (!opts.grow_labels) labels = {"pos", "neg"};
  const std::size_t labels_before = labels.size();

  data_report report;
  dataset d;
  try {
    std::istringstream s{std::string(in.payload)};
    d = read_dataset(s, "fuzz.tsv", opts, src, tgt, labels, report);
  } catch (const attn::error&) {
    return 0;
  } catch (const std::exception& e) {
    fuzz::finding(fuzz::unexpected("read_dataset", e));
  }

  const std::size_t T = opts.max_len;
  fuzz::require(d.format == opts.format, "dataset format differs from the option");
  fuzz::require(d.lengths.size() == d.examples.size(), "one length per example");
  fuzz::require(report.malformed <= report.lines, "more malformed lines than lines");
  fuzz::require(report.problems.size() <= std::min(report.malformed, opts.report_lines), "too many problems kept");
  fuzz::require(!opts.strict || report.malformed == 0, "strict reading skipped a malformed line");
  fuzz::require(opts.grow_labels || labels.size() == labels_before, "validation data grew the label list");
  for (std::size_t i = 0; i < d.examples.size(); ++i) {
    const example& e = d.examples[i];
    check_ids(e.src, src, "src");
    switch (d.format) {
      case data_format::lm:
        check_ids(e.tgt, src, "lm tgt");
        fuzz::require(!e.src.empty() && e.src.size() == e.tgt.size() && e.src.size() <= T, "lm window size");
        fuzz::require(std::equal(e.src.begin() + 1, e.src.end(), e.tgt.begin()), "lm tgt is not src shifted by one");
        fuzz::require(d.lengths[i] == e.src.size(), "lm length");
        break;
      case data_format::pairs:
        check_ids(e.tgt, tgt, "tgt");
        fuzz::require(!e.src.empty() && e.src.size() <= T && e.src.back() == eos_id, "pairs src size or <eos>");
        fuzz::require(e.tgt.size() + 1 <= T, "pairs tgt longer than max_len - 1");
        fuzz::require(d.lengths[i] == std::max(e.src.size(), e.tgt.size() + 1), "pairs length");
        break;
      case data_format::labeled:
        fuzz::require(e.tgt.empty() && !e.src.empty() && e.src.size() <= T && e.src[0] == bos_id, "labeled src");
        fuzz::require(e.label >= 0 && static_cast<std::size_t>(e.label) < labels.size(), "label outside the list");
        fuzz::require(d.lengths[i] == e.src.size(), "labeled length");
        break;
    }
  }

  // Batches of up to 3 examples, as the loop would make them.
  for (std::size_t i = 0; i < d.examples.size(); i += 3) {
    std::vector<std::size_t> idx;
    for (std::size_t j = i; j < std::min(i + 3, d.examples.size()); ++j) idx.push_back(j);
    const batch b = make_batch(d, idx);
    fuzz::require(b.size == idx.size() && b.src.size() == b.size * b.src_len, "batch src shape");
    fuzz::require(b.tgt_in.size() == b.size * b.tgt_len && b.tgt_out.size() == b.tgt_in.size(), "batch tgt shape");
    fuzz::require(b.src_lengths.size() == b.size, "batch src lengths");
  }
  return 0;
}
