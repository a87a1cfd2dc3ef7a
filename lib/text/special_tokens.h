#pragma once
// The ids of the four fixed special tokens, the same in every vocabulary (text/vocab.h): the one
// place models, data and decoders take them from, so no literal 0, 2 or 3 stands for them.
#include <cstdint>

namespace attn {

constexpr std::int32_t pad_id = 0;  // fills batches past each item's length; never predicted
constexpr std::int32_t unk_id = 1;  // a token the vocabulary lacks
constexpr std::int32_t bos_id = 2;  // starts every decoder input (and classifier text)
constexpr std::int32_t eos_id = 3;  // ends every target; decoding stops after it
constexpr std::int32_t fixed_specials = 4;  // user special tokens start at this id

}  // namespace attn
