#include "viz/curves_svg.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "viz/axis.h"
#include "viz/colour_scale.h"
#include "viz/line_decimation.h"
#include "viz/svg.h"

namespace attn::viz {

namespace {

struct panel_kind {
  const char* metric;  // training_log::metrics key
  const char* id;      // panel-<id>
  const char* title;
  const char* unit;  // the y axis label
};

const panel_kind panels[] = {
    {"train loss", "train-loss", "training loss", "loss (nats/token)"},
    {"valid loss", "valid-loss", "validation loss", "loss (nats/token)"},
    {"valid perplexity", "valid-perplexity", "validation perplexity", "perplexity"},
    {"valid accuracy", "valid-accuracy", "validation accuracy", "accuracy (fraction)"},
    {"valid bits per byte", "valid-bits-per-byte", "validation bits per byte", "bits/byte"},
    {"lr", "lr", "learning rate", "learning rate"},
    {"tokens/s", "tokens-per-s", "throughput", "tokens/s"},
};

constexpr double panel_w = 440, panel_h = 270, margin = 16;
constexpr double plot_left = 72, plot_right = 16, plot_top = 30, plot_bottom = 42;  // inside a panel
// A line keeps M4's points for columns of a quarter pixel (line_decimation.h): the same picture
// when the SVG is zoomed 4×, and at most ~5,600 points a line however long the log.
constexpr std::size_t line_columns = 4 * static_cast<std::size_t>(panel_w - plot_left - plot_right);

// An exponential moving average with bias correction (as TensorBoard smooths): the first values
// are not dragged towards 0.
std::vector<double> smoothed(const std::vector<double>& v, double weight) {
  std::vector<double> out(v.size());
  double avg = 0, norm = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    avg = avg * weight + (1 - weight) * v[i];
    norm = norm * weight + (1 - weight);
    out[i] = avg / norm;
  }
  return out;
}

class panel_frame {
 public:
  panel_frame(double x, double y, const axis& xa, const axis& ya) : x_(x), y_(y), xa_(xa), ya_(ya) {}
  double px(double v) const {
    return x_ + plot_left + (v - xa_.lo) / (xa_.hi - xa_.lo) * (panel_w - plot_left - plot_right);
  }
  double x_lo() const { return xa_.lo; }
  double x_hi() const { return xa_.hi; }
  double py(double v) const {
    return y_ + panel_h - plot_bottom - (v - ya_.lo) / (ya_.hi - ya_.lo) * (panel_h - plot_top - plot_bottom);
  }

 private:
  double x_, y_;
  const axis &xa_, &ya_;
};

void draw_axes(std::ostream& out, const panel_kind& k, double x, double y, const axis& xa, const axis& ya,
               const panel_frame& f) {
  const double left = x + plot_left, right = x + panel_w - plot_right, top = y + plot_top,
               bottom = y + panel_h - plot_bottom;
  out << "<text class=\"panel-title\" x=\"" << num(left) << "\" y=\"" << num(y + 18) << "\">" << xml_escape(k.title)
      << "</text>\n<rect class=\"frame\" x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\""
      << num(right - left) << "\" height=\"" << num(bottom - top) << "\"/>\n";
  const double xs = xa.ticks.size() > 1 ? xa.ticks[1] - xa.ticks[0] : 1;
  for (const double t : xa.ticks) {
    const double tx = f.px(t);
    out << "<line class=\"grid\" x1=\"" << num(tx) << "\" y1=\"" << num(top) << "\" x2=\"" << num(tx) << "\" y2=\""
        << num(bottom + 4) << "\"/>\n<text class=\"xtick\" x=\"" << num(tx) << "\" y=\"" << num(bottom + 16) << "\">"
        << tick_label(t, xs) << "</text>\n";
  }
  const double ys = ya.ticks.size() > 1 ? ya.ticks[1] - ya.ticks[0] : 1;
  for (const double t : ya.ticks) {
    const double ty = f.py(t);
    out << "<line class=\"grid\" x1=\"" << num(left - 4) << "\" y1=\"" << num(ty) << "\" x2=\"" << num(right)
        << "\" y2=\"" << num(ty) << "\"/>\n<text class=\"ytick\" x=\"" << num(left - 6) << "\" y=\"" << num(ty)
        << "\" dy=\"0.35em\">" << tick_label(t, ys) << "</text>\n";
  }
  out << "<text class=\"xlabel\" x=\"" << num((left + right) / 2) << "\" y=\"" << num(bottom + 34)
      << "\">step</text>\n<text class=\"ylabel\" transform=\"translate(" << num(x + 16) << ','
      << num((top + bottom) / 2) << ") rotate(-90)\">" << xml_escape(k.unit) << "</text>\n";
}

void polyline(std::ostream& out, const char* cls, std::size_t run, const std::vector<double>& xs,
              const std::vector<double>& ys, const panel_frame& f) {
  out << "<polyline class=\"" << cls << " run-" << run << "\" stroke=\"" << hex(category_colour(run)) << "\" points=\"";
  const std::vector<std::size_t> kept = m4_points(xs, ys, f.x_lo(), f.x_hi(), line_columns);
  for (std::size_t k = 0; k < kept.size(); ++k)
    out << (k ? " " : "") << num(f.px(xs[kept[k]])) << ',' << num(f.py(ys[kept[k]]));
  out << "\"/>\n";
}

}  // namespace

void write_curves_svg(const std::vector<training_log>& logs, std::ostream& out, const curves_options& o) {
  if (!(o.smoothing >= 0 && o.smoothing < 1)) throw error("the smoothing weight must be in [0, 1)");
  std::vector<const panel_kind*> shown;
  for (const panel_kind& k : panels)
    for (const training_log& l : logs)
      if (l.metrics.count(k.metric) && !l.metrics.at(k.metric).step.empty()) {
        shown.push_back(&k);
        break;
      }
  if (shown.empty()) throw error("the logs hold no rows to plot");

  const std::size_t columns = shown.size() == 1 ? 1 : 2, rows = (shown.size() + columns - 1) / columns;
  double legend_w = 0;
  for (const training_log& l : logs) legend_w = std::max(legend_w, text_width(l.label, 12) + 40);
  const double legend_h = 22.0 * static_cast<double>(logs.size()) + 8;
  const double width = std::max(margin * 2 + panel_w * static_cast<double>(columns), margin * 2 + legend_w);
  const double height = margin * 2 + legend_h + panel_h * static_cast<double>(rows);

  svg_begin(out, width, height,
            "text { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; font-size: 11px; fill: #222222; }\n"
            ".panel-title { font-size: 13px; font-weight: bold; }\n"
            ".label { font-size: 12px; }\n"
            ".xtick, .xlabel, .ylabel { text-anchor: middle; }\n"
            ".ytick { text-anchor: end; }\n"
            ".frame { fill: none; stroke: #888888; stroke-width: 1; }\n"
            ".grid { stroke: #dddddd; stroke-width: 1; }\n"
            "polyline { fill: none; stroke-linejoin: round; }\n"
            ".line { stroke-width: 1.8; }\n"
            ".raw { stroke-width: 0.8; stroke-opacity: 0.3; }");
  out << "<g class=\"legend\">\n";
  for (std::size_t i = 0; i < logs.size(); ++i) {
    const double ly = margin + 22.0 * static_cast<double>(i) + 10;
    out << "<line x1=\"" << num(margin) << "\" y1=\"" << num(ly) << "\" x2=\"" << num(margin + 26) << "\" y2=\""
        << num(ly) << "\" stroke=\"" << hex(category_colour(i)) << "\" stroke-width=\"3\"/>\n<text class=\"label\" x=\""
        << num(margin + 34) << "\" y=\"" << num(ly) << "\" dy=\"0.35em\">" << xml_escape(logs[i].label) << "</text>\n";
  }
  out << "</g>\n";

  for (std::size_t p = 0; p < shown.size(); ++p) {
    const panel_kind& k = *shown[p];
    const double x = margin + panel_w * static_cast<double>(p % columns),
                 y = margin + legend_h + panel_h * static_cast<double>(p / columns);
    double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
    for (const training_log& l : logs) {
      const auto m = l.metrics.find(k.metric);
      if (m == l.metrics.end()) continue;
      for (const double v : m->second.step) x_min = std::min(x_min, v), x_max = std::max(x_max, v);
      for (const double v : m->second.value) y_min = std::min(y_min, v), y_max = std::max(y_max, v);
    }
    const axis xa = nice_axis(x_min, x_max, 6), ya = nice_axis(y_min, y_max, 5);
    const panel_frame f(x, y, xa, ya);
    out << "<g class=\"panel\" id=\"panel-" << k.id << "\">\n";
    draw_axes(out, k, x, y, xa, ya, f);
    for (std::size_t i = 0; i < logs.size(); ++i) {
      const auto m = logs[i].metrics.find(k.metric);
      if (m == logs[i].metrics.end() || m->second.step.empty()) continue;
      const series& s = m->second;
      if (std::string(k.metric) == "train loss") {
        polyline(out, "raw", i, s.step, s.value, f);
        polyline(out, "line", i, s.step, smoothed(s.value, o.smoothing), f);
      } else {
        polyline(out, "line", i, s.step, s.value, f);
        if (s.step.size() <= 60 &&
            std::string(k.metric).rfind("valid", 0) == 0)  // a few validations: marked, so that a single one shows
          for (std::size_t j = 0; j < s.step.size(); ++j)
            out << "<circle class=\"point run-" << i << "\" cx=\"" << num(f.px(s.step[j])) << "\" cy=\""
                << num(f.py(s.value[j])) << "\" r=\"2.5\" fill=\"" << hex(category_colour(i)) << "\"/>\n";
      }
    }
    out << "</g>\n";
  }
  svg_end(out);
}

}  // namespace attn::viz
