#pragma once
// How translate() and attend() report progress: after each batch (or sentence), the number of
// input lines done so far. The caller decides whether and how to show it; the library never prints.
#include <cstddef>
#include <functional>

namespace attn {

using line_progress = std::function<void(std::size_t lines_done)>;

}  // namespace attn
