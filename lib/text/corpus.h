#pragma once
// Reading training text for a vocabulary: whole lines, or tab-separated fields of a parallel
// corpus (1-based like `cut -f`, or all fields so one vocabulary serves both sides).
#include <cstdint>
#include <functional>
#include <istream>
#include <string>

#include "text/vocab_builder.h"

namespace attn {

struct column_spec {
  int index = 0;     // 1-based field; 0 = the whole line
  bool all = false;  // every field, each on its own
};

// Parses "N" (1-based) or "all"; false if neither.
bool parse_column(const std::string& text, column_spec& out);

// Feeds each line (or the chosen fields) of `in` to builder; returns the bytes read. progress(bytes)
// is called every few MB. Throws attn::error naming `name` and the line when a line lacks the field.
uint64_t add_corpus(vocab_builder& builder, std::istream& in, const std::string& name, const column_spec& column,
                    const std::function<void(uint64_t bytes)>& progress = {});

}  // namespace attn
