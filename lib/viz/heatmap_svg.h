#pragma once
// Attention maps as one SVG 1.1 picture: for each sentence, a grid of heatmaps (one row per
// attention module, its heads across), each with the query tokens down the left, the key tokens
// across the top and the module/layer/head as its title; one viridis colour legend for weights
// 0..1 at the top (every map shares the scale, so maps compare by colour).
//
// Structure, for programs that read it back: each map is <g class="map"> holding one
// <rect class="cell"> per (query, key) (row-major, with a <title> tooltip "query → key: weight"),
// one <text class="query"> per query, one <text class="key"> per key, and <text class="title">.
#include <ostream>
#include <vector>

#include "viz/attention_pictures.h"

namespace attn::viz {

void write_heatmap_svg(const std::vector<sentence_pictures>& sentences, std::ostream& out);

}  // namespace attn::viz
