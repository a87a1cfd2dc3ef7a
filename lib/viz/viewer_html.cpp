#include "viz/viewer_html.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "viz/svg.h"

namespace attn::viz {

// The page's CSS and JavaScript (viewer_page.cpp).
extern const char* const viewer_page_head;  // up to and including the opening of the data <script>
extern const char* const viewer_page_tail;  // from the data's closing </script> to </html>

namespace {

// The index of `tokens` in `lists`, appended when new (a sentence's sides share few lists).
std::size_t token_list(nlohmann::json& lists, const std::vector<std::string>& tokens) {
  for (std::size_t i = 0; i < lists.size(); ++i)
    if (lists[i].get<std::vector<std::string>>() == tokens) return i;
  lists.push_back(tokens);
  return lists.size() - 1;
}

}  // namespace

std::string viewer_json(const std::vector<sentence_pictures>& sentences) {
  nlohmann::json doc = {{"sentences", nlohmann::json::array()}};
  for (const sentence_pictures& s : sentences) {
    nlohmann::json js = {
        {"sentence", s.sentence}, {"tokens", nlohmann::json::array()}, {"maps", nlohmann::json::array()}};
    for (const picture_map& m : s.maps) {
      std::vector<int> w(m.weights.size());
      for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = static_cast<int>(std::lround(std::clamp(m.weights[i], 0.0f, 1.0f) * 1000.0f));
      nlohmann::json jm = {{"module", m.module},
                           {"kind", m.kind},
                           {"layer", m.layer},
                           {"heads", m.heads},
                           {"q", token_list(js["tokens"], m.query_tokens)},
                           {"k", token_list(js["tokens"], m.key_tokens)},
                           {"w", w}};
      if (m.head < 0)
        jm["head"] = "mean";
      else
        jm["head"] = m.head;
      js["maps"].push_back(std::move(jm));
    }
    doc["sentences"].push_back(std::move(js));
  }
  // Tokens are valid UTF-8 (escaped pieces); replace anything else rather than fail.
  std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Inside <script>, "</" could close the element: "<\/" means the same in a JSON string (and
  // "</" occurs nowhere else in JSON).
  std::string safe;
  safe.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    safe += text[i];
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') safe += '\\';
  }
  return safe;
}

void write_viewer_html(const std::vector<sentence_pictures>& sentences, const std::string& title, std::ostream& out) {
  std::string head = viewer_page_head;
  const std::string marker = "@TITLE@";
  const std::string shown = xml_escape(title);
  for (std::size_t at = head.find(marker); at != std::string::npos; at = head.find(marker, at + shown.size()))
    head.replace(at, marker.size(), shown);
  out << head << viewer_json(sentences) << viewer_page_tail;
}

}  // namespace attn::viz
