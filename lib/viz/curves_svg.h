#pragma once
// Training curves as one SVG 1.1 picture (`attn plot`): one panel per metric present in any of
// the logs - training loss (raw, faint, and smoothed), validation loss, perplexity, accuracy and
// bits per byte, learning rate, tokens/s - each against the step, with ticks and units; several
// runs overlaid in the colours of one legend, labelled by their training_log::label.
//
// Structure, for programs that read it back: each panel is <g class="panel" id="panel-NAME">
// (NAME: train-loss, valid-loss, valid-perplexity, valid-accuracy, valid-bits-per-byte, lr,
// tokens-per-s) holding one <polyline class="line run-I"> per run with data (I = the run's index;
// the training loss's raw values are an extra <polyline class="raw run-I">), and the legend is
// <g class="legend"> with one <text class="label"> per run.
#include <ostream>
#include <vector>

#include "viz/training_log.h"

namespace attn::viz {

struct curves_options {
  double smoothing = 0.9;  // the training loss's exponential moving average weight, in [0, 1): 0 = raw
};

// Throws attn::error when no log holds any value to plot.
void write_curves_svg(const std::vector<training_log>& logs, std::ostream& out, const curves_options& o = {});

}  // namespace attn::viz
