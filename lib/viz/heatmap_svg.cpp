#include "viz/heatmap_svg.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>

#include "viz/colour_scale.h"
#include "viz/svg.h"

namespace attn::viz {

namespace {

constexpr double margin = 16, gap = 24, title_height = 18, legend_height = 56, heading_height = 26;

// Sizes shared by every map of one sentence, so that its heatmaps line up.
struct sentence_layout {
  double cell = 12, font = 10;
};

sentence_layout layout_of(const sentence_pictures& s) {
  std::size_t longest = 1;
  for (const picture_map& m : s.maps) longest = std::max({longest, m.query_tokens.size(), m.key_tokens.size()});
  sentence_layout l;
  l.cell = std::clamp(360.0 / static_cast<double>(longest), 7.0, 22.0);
  l.font = std::clamp(l.cell * 0.8, 6.0, 11.0);
  return l;
}

// One map's block: labels, cells, title; its size comes first so the grid can be laid out.
struct map_block {
  const picture_map* map;
  double label_width = 0, label_height = 0;  // query labels on the left, key labels on top
  double width = 0, height = 0;
};

map_block measure(const picture_map& m, const sentence_layout& l) {
  map_block b{&m};
  for (const auto& t : m.query_tokens) b.label_width = std::max(b.label_width, text_width(t, l.font));
  for (const auto& t : m.key_tokens) b.label_height = std::max(b.label_height, text_width(t, l.font));
  b.label_width += 6;
  b.label_height += 6;
  const double cells_w = l.cell * static_cast<double>(m.key_tokens.size());
  b.width = std::max(b.label_width + cells_w, text_width(m.title(), 11) + 4);
  b.height = title_height + b.label_height + l.cell * static_cast<double>(m.query_tokens.size());
  return b;
}

std::string weight_text(float w) {
  char text[16];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(w));
  return text;
}

void draw_map(std::ostream& out, const map_block& b, const sentence_layout& l, double x, double y) {
  const picture_map& m = *b.map;
  const double x0 = x + b.label_width, y0 = y + title_height + b.label_height;  // the cells' top-left corner
  out << "<g class=\"map\">\n<text class=\"title\" x=\"" << num(x) << "\" y=\"" << num(y + 12) << "\">"
      << xml_escape(m.title()) << "</text>\n";
  for (std::size_t k = 0; k < m.key_tokens.size(); ++k) {
    const double cx = x0 + l.cell * (static_cast<double>(k) + 0.5), cy = y0 - 4;
    out << "<text class=\"key\" font-size=\"" << num(l.font) << "\" transform=\"translate(" << num(cx) << ',' << num(cy)
        << ") rotate(-90)\" dy=\"0.35em\">" << xml_escape(m.key_tokens[k]) << "</text>\n";
  }
  for (std::size_t q = 0; q < m.query_tokens.size(); ++q) {
    const double cy = y0 + l.cell * (static_cast<double>(q) + 0.5);
    out << "<text class=\"query\" font-size=\"" << num(l.font) << "\" x=\"" << num(x0 - 4) << "\" y=\"" << num(cy)
        << "\" dy=\"0.35em\">" << xml_escape(m.query_tokens[q]) << "</text>\n";
  }
  for (std::size_t q = 0; q < m.query_tokens.size(); ++q) {
    const std::string query = xml_escape(m.query_tokens[q]);
    for (std::size_t k = 0; k < m.key_tokens.size(); ++k) {
      const float w = m.at(q, k);
      out << "<rect class=\"cell\" x=\"" << num(x0 + l.cell * static_cast<double>(k)) << "\" y=\""
          << num(y0 + l.cell * static_cast<double>(q)) << "\" width=\"" << num(l.cell) << "\" height=\"" << num(l.cell)
          << "\" fill=\"" << hex(viridis(w)) << "\"><title>" << query << " \u2192 " << xml_escape(m.key_tokens[k])
          << ": " << weight_text(w) << "</title></rect>\n";
    }
  }
  out << "</g>\n";
}

// The colour legend: a horizontal viridis bar for weights 0..1 with ticks.
void draw_legend(std::ostream& out, double x, double y) {
  const double w = 240, h = 12;
  out << "<defs><linearGradient id=\"viridis\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"0\">\n";
  for (int i = 0; i <= 10; ++i)
    out << "<stop offset=\"" << num(i / 10.0) << "\" stop-color=\"" << hex(viridis(i / 10.0)) << "\"/>\n";
  out << "</linearGradient></defs>\n<g class=\"legend\">\n<text class=\"legend-title\" x=\"" << num(x) << "\" y=\""
      << num(y + 10) << "\">attention weight</text>\n<rect x=\"" << num(x) << "\" y=\"" << num(y + 16) << "\" width=\""
      << num(w) << "\" height=\"" << num(h) << "\" fill=\"url(#viridis)\" stroke=\"#444444\" "
      << "stroke-width=\"0.5\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double tx = x + w * i / 4.0;
    out << "<line x1=\"" << num(tx) << "\" y1=\"" << num(y + 16 + h) << "\" x2=\"" << num(tx) << "\" y2=\""
        << num(y + 20 + h) << "\" stroke=\"#444444\"/>\n<text class=\"tick\" x=\"" << num(tx) << "\" y=\""
        << num(y + 31 + h) << "\">" << num(i / 4.0) << "</text>\n";
  }
  out << "</g>\n";
}

}  // namespace

void write_heatmap_svg(const std::vector<sentence_pictures>& sentences, std::ostream& out) {
  // Lay everything out first (the <svg> element states the size), then draw into a buffer-free
  // second pass over the same blocks.
  struct placed_row {
    std::vector<map_block> blocks;
    double height = 0;
  };
  struct placed_sentence {
    const sentence_pictures* s = nullptr;
    sentence_layout l;
    std::vector<placed_row> rows;
    double height = heading_height;
  };
  std::vector<placed_sentence> placed;
  double width = margin * 2 + 260, height = margin + legend_height;
  for (const sentence_pictures& s : sentences) {
    placed_sentence p;
    p.s = &s;
    p.l = layout_of(s);
    for (const picture_map& m : s.maps) {
      // a new row per module (its heads side by side)
      if (p.rows.empty() || p.rows.back().blocks.back().map->module != m.module) p.rows.emplace_back();
      p.rows.back().blocks.push_back(measure(m, p.l));
    }
    for (placed_row& r : p.rows) {
      double row_width = margin * 2 - gap;
      for (const map_block& b : r.blocks) {
        r.height = std::max(r.height, b.height);
        row_width += b.width + gap;
      }
      width = std::max(width, row_width);
      p.height += r.height + gap;
    }
    height += p.height;
    placed.push_back(std::move(p));
  }
  height += margin;

  svg_begin(out, width, height,
            "text { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; fill: #222222; }\n"
            ".title { font-size: 11px; font-weight: bold; }\n"
            ".heading { font-size: 14px; font-weight: bold; }\n"
            ".legend-title, .tick { font-size: 10px; }\n"
            ".tick { text-anchor: middle; }\n"
            ".query { text-anchor: end; }\n"
            ".key { text-anchor: start; }\n"
            ".cell { stroke: none; }");
  draw_legend(out, margin, margin - 6);
  double y = margin + legend_height;
  for (const placed_sentence& p : placed) {
    out << "<g class=\"sentence\" id=\"sentence-" << p.s->sentence << "\">\n<text class=\"heading\" x=\"" << num(margin)
        << "\" y=\"" << num(y + 16) << "\">sentence " << p.s->sentence << "</text>\n";
    double row_y = y + heading_height;
    for (const placed_row& r : p.rows) {
      double x = margin;
      for (const map_block& b : r.blocks) {
        draw_map(out, b, p.l, x, row_y);
        x += b.width + gap;
      }
      row_y += r.height + gap;
    }
    out << "</g>\n";
    y += p.height;
  }
  svg_end(out);
}

}  // namespace attn::viz
