#pragma once
// Attention maps as one self-contained HTML page (inline CSS and JavaScript, no network access,
// works when opened from file://): pick the sentence, the attention module, its layer and a head
// (or the mean over heads); a matrix view (heatmap, query tokens down the side, keys across the
// top) and a "lines" view (queries and keys in two columns, lines weighted by attention, as
// bertviz draws them); hovering a token or a cell highlights its row/column and shows the weights;
// "stretch" maps the colours to 0..the map's largest weight instead of 0..1.
//
// The maps are embedded as JSON: each weight an integer in per mille (0..1000, i.e. rounded to 3
// digits), token lists stored once per sentence. A 6-layer, 8-head map set over 60 tokens is about
// 0.7 MB per attention kind.
//
// The page can be driven without a mouse, for tests and links: the URL's fragment selects
// (#sentence=0&module=decoder.layers.*.cross_attn&layer=1&head=mean&view=lines&stretch=1); every drawing
// sets <body data-picture="..."> to a checksum of the pixels; and with "?autotest" in the URL the
// page clicks another head's button itself, hovers a cell with a mouse event, switches to the
// lines view, and records the checksums (and the hover's info line) in <pre id="autotest">.
// Script errors are collected in <body data-errors="...">.
#include <ostream>
#include <string>
#include <vector>

#include "viz/attention_pictures.h"

namespace attn::viz {

// title: shown as the page's heading and <title> (e.g. the checkpoint's file name).
void write_viewer_html(const std::vector<sentence_pictures>& sentences, const std::string& title, std::ostream& out);

// The JSON the page embeds (exposed for tests): {"sentences":[{"sentence":N,"tokens":[[...],...],
// "maps":[{"module":..,"kind":..,"layer":L,"head":H|"mean","heads":H,"q":i,"k":j,"w":[...]}]}]},
// q and k indexing "tokens", w the [Tq, Tk] weights in per mille, row-major.
std::string viewer_json(const std::vector<sentence_pictures>& sentences);

}  // namespace attn::viz
