// The HTML viewer's page around its data (viewer_html.h says what it does): CSS and JavaScript
// inline, nothing fetched, so the file works from file:// and offline. Plain ES5 + canvas.
namespace attn::viz {

extern const char* const viewer_page_head;
extern const char* const viewer_page_tail;

const char* const viewer_page_head = R"PAGE(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>@TITLE@ - attention</title>
<style>
body { font-family: system-ui, 'DejaVu Sans', Verdana, sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 18px; margin: 0 0 10px; }
#controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin-bottom: 8px; font-size: 13px; }
select { font-size: 13px; max-width: 24em; }
.buttons button { font-size: 12px; margin: 0 2px 0 0; padding: 2px 8px; border: 1px solid #888; background: #f4f4f4;
  border-radius: 3px; cursor: pointer; }
.buttons button.on { background: #3e4989; color: #fff; border-color: #3e4989; }
#legend { display: flex; align-items: center; gap: 6px; font-size: 12px; }
#legend canvas { border: 1px solid #888; }
#info { font: 13px monospace; min-height: 2.8em; margin: 6px 0; white-space: pre-wrap; }
#picture { display: block; }
</style>
</head>
<body>
<h1>@TITLE@</h1>
<div id="controls">
<label>sentence <select id="sentence"></select></label>
<label>module <select id="module"></select></label>
<label>layer <select id="layer"></select></label>
<span>head <span id="heads" class="buttons"></span></span>
<span>view <span id="views" class="buttons"><button data-view="matrix">matrix</button><button data-view="lines">lines</button></span></span>
<span id="legend">weight 0 <canvas id="scale" width="160" height="12"></canvas> <span id="top">1</span></span>
<label title="colour scale from 0 to the map's largest weight instead of 1"><input type="checkbox" id="stretch"> stretch</label>
</div>
<div id="info"></div>
<canvas id="picture" width="10" height="10"></canvas>
<script type="application/json" id="data">)PAGE";

const char* const viewer_page_tail = R"PAGE(</script>
<script>
(function () {
"use strict";
var errors = [];
function noteError(message) {
  errors.push(String(message));
  document.body.setAttribute("data-errors", errors.join(" | "));
}
window.addEventListener("error", function (e) { noteError(e.message); });

var loadStarted = performance.now();
var data = JSON.parse(document.getElementById("data").textContent);
var VIRIDIS = [[68, 1, 84], [72, 40, 120], [62, 73, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137],
               [53, 183, 121], [110, 206, 88], [181, 222, 43], [253, 231, 37]];
function colour(t) {
  t = Math.max(0, Math.min(1, t));
  var x = t * 9, i = Math.min(8, Math.floor(x)), f = x - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return "rgb(" + Math.round(a[0] + (b[0] - a[0]) * f) + "," + Math.round(a[1] + (b[1] - a[1]) * f) + "," +
         Math.round(a[2] + (b[2] - a[2]) * f) + ")";
}
function $(id) { return document.getElementById(id); }
// "decoder.layers.1.cross_attn" -> "decoder.layers.*.cross_attn": a module across its layers.
function group(module) { return module.replace(/\.layers\.\d+\./, ".layers.*."); }

var state = { sentence: 0, module: "", layer: 0, head: "0", view: "matrix" };
var hover = { q: -1, k: -1 };
var shown = null;  // what is drawn: { q: [tokens], k: [tokens], w: [Tq*Tk weights 0..1], title }
var hitTest = function () { return { q: -1, k: -1 }; };

function sentence() { return data.sentences[state.sentence]; }
function mapsOf(g, layer) {
  return sentence().maps.filter(function (m) { return group(m.module) === g && (layer === null || m.layer === layer); });
}
function groups() {
  var out = [];
  sentence().maps.forEach(function (m) { if (out.indexOf(group(m.module)) < 0) out.push(group(m.module)); });
  return out;
}
function layers() {
  var out = [];
  mapsOf(state.module, null).forEach(function (m) { if (out.indexOf(m.layer) < 0) out.push(m.layer); });
  return out.sort(function (a, b) { return a - b; });
}
function heads() {
  var out = [], numeric = 0;
  mapsOf(state.module, state.layer).forEach(function (m) {
    var h = String(m.head);
    if (out.indexOf(h) < 0) { out.push(h); if (h !== "mean") numeric++; }
  });
  if (numeric >= 2 && out.indexOf("mean") < 0) out.push("mean");  // computed here
  return out;
}

// The selected map (or the mean of the layer's heads).
function current() {
  var s = sentence(), maps = mapsOf(state.module, state.layer), pick = null, i, j;
  maps.forEach(function (m) { if (String(m.head) === state.head) pick = m; });
  var base = pick || maps[0], n = base.w.length, w = new Array(n);
  if (pick) {
    for (i = 0; i < n; i++) w[i] = pick.w[i] / 1000;
  } else {
    var numeric = maps.filter(function (m) { return m.head !== "mean"; });
    for (i = 0; i < n; i++) {
      var sum = 0;
      for (j = 0; j < numeric.length; j++) sum += numeric[j].w[i];
      w[i] = sum / numeric.length / 1000;
    }
  }
  return { q: s.tokens[base.q], k: s.tokens[base.k], w: w,
           title: base.module + " (" + base.kind + ") layer " + base.layer + " head " + state.head };
}

function fillSelect(select, values, labels, chosen) {
  select.innerHTML = "";
  values.forEach(function (v, i) {
    var o = document.createElement("option");
    o.value = String(v);
    o.textContent = labels ? labels[i] : String(v);
    if (String(v) === String(chosen)) o.selected = true;
    select.appendChild(o);
  });
}

// Keeps the choices valid after one changed, rebuilds the controls, and draws.
function update() {
  if (state.sentence >= data.sentences.length) state.sentence = 0;
  var gs = groups();
  if (gs.indexOf(state.module) < 0) {
    var asGroup = group(state.module);  // a full module name also selects its layer
    var m = /\.layers\.(\d+)\./.exec(state.module);
    state.module = gs.indexOf(asGroup) >= 0 ? asGroup : gs[0];
    if (m && gs.indexOf(asGroup) >= 0) state.layer = Number(m[1]);
  }
  var ls = layers();
  if (ls.indexOf(state.layer) < 0) state.layer = ls[0];
  var hs = heads();
  if (hs.indexOf(state.head) < 0) state.head = hs[0];
  fillSelect($("sentence"), data.sentences.map(function (s, i) { return i; }),
             data.sentences.map(function (s) { return "sentence " + s.sentence; }), state.sentence);
  fillSelect($("module"), gs, null, state.module);
  fillSelect($("layer"), ls, null, state.layer);
  var box = $("heads");
  box.innerHTML = "";
  hs.forEach(function (h) {
    var b = document.createElement("button");
    b.textContent = h;
    b.setAttribute("data-head", h);
    if (h === state.head) b.className = "on";
    b.addEventListener("click", function () { state.head = h; update(); });
    box.appendChild(b);
  });
  Array.prototype.forEach.call($("views").children, function (b) {
    b.className = b.getAttribute("data-view") === state.view ? "on" : "";
  });
  try {
    history.replaceState(null, "", "#sentence=" + data.sentences[state.sentence].sentence + "&module=" +
                         encodeURIComponent(state.module) + "&layer=" + state.layer + "&head=" + state.head +
                         "&view=" + state.view + ($("stretch").checked ? "&stretch=1" : ""));
  } catch (e) { /* some file:// setups refuse; the fragment is a convenience */ }
  shown = current();
  scaleTop = 1;
  if ($("stretch").checked) {
    scaleTop = 1e-6;
    for (var i = 0; i < shown.w.length; i++) scaleTop = Math.max(scaleTop, shown.w[i]);
  }
  $("top").textContent = scaleTop === 1 ? "1" : scaleTop.toFixed(3);
  hover = { q: -1, k: -1 };
  draw();
}

var canvas = $("picture"), ctx = canvas.getContext("2d", { willReadFrequently: true });  // checksum() reads it back
var FONT, BOLD;
function fontSize(px) {  // labels as tall as a row allows, so that they never overlap
  FONT = px + "px 'DejaVu Sans', Verdana, sans-serif";
  BOLD = "bold " + FONT;
}
fontSize(12);
var scaleTop = 1;  // the weight drawn as yellow: 1, or the map's largest with "stretch"

function resize(width, height) {
  var ratio = window.devicePixelRatio || 1;
  canvas.width = Math.ceil(width * ratio);
  canvas.height = Math.ceil(height * ratio);
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
}
function widest(tokens) {
  ctx.font = FONT;
  var w = 0;
  tokens.forEach(function (t) { w = Math.max(w, ctx.measureText(t).width); });
  return w;
}

function drawMatrix() {
  var Q = shown.q.length, K = shown.k.length, cell = Math.max(8, Math.min(28, Math.floor(600 / Math.max(Q, K, 1))));
  fontSize(Math.max(7, Math.min(12, Math.floor(cell * 0.9))));
  var left = widest(shown.q) + 10, top = widest(shown.k) + 30;
  resize(Math.max(left + K * cell + 20, 300), top + Q * cell + 20);
  ctx.fillStyle = "#222"; ctx.font = "bold 12px 'DejaVu Sans', Verdana, sans-serif"; ctx.textBaseline = "alphabetic"; ctx.textAlign = "left";
  ctx.fillText(shown.title, 2, 14);
  var q, k;
  for (q = 0; q < Q; q++)
    for (k = 0; k < K; k++) {
      ctx.fillStyle = colour(shown.w[q * K + k] / scaleTop);
      ctx.fillRect(left + k * cell, top + q * cell, cell, cell);
    }
  ctx.textBaseline = "middle";
  for (q = 0; q < Q; q++) {
    ctx.font = q === hover.q ? BOLD : FONT; ctx.fillStyle = q === hover.q ? "#c00" : "#222"; ctx.textAlign = "right";
    ctx.fillText(shown.q[q], left - 5, top + (q + 0.5) * cell);
  }
  for (k = 0; k < K; k++) {
    ctx.save();
    ctx.translate(left + (k + 0.5) * cell, top - 5);
    ctx.rotate(-Math.PI / 2);
    ctx.font = k === hover.k ? BOLD : FONT; ctx.fillStyle = k === hover.k ? "#c00" : "#222"; ctx.textAlign = "left";
    ctx.fillText(shown.k[k], 0, 0);
    ctx.restore();
  }
  ctx.lineWidth = 2; ctx.strokeStyle = "#e00";
  if (hover.q >= 0) ctx.strokeRect(left, top + hover.q * cell, K * cell, cell);
  if (hover.k >= 0) ctx.strokeRect(left + hover.k * cell, top, cell, Q * cell);
  hitTest = function (x, y) {
    var qq = Math.floor((y - top) / cell), kk = Math.floor((x - left) / cell);
    var inRows = qq >= 0 && qq < Q, inCols = kk >= 0 && kk < K;
    if (inRows && inCols) return { q: qq, k: kk };
    if (inRows && x < left) return { q: qq, k: -1 };
    if (inCols && y < top && y > 20) return { q: -1, k: kk };
    return { q: -1, k: -1 };
  };
}

function drawLines() {
  var Q = shown.q.length, K = shown.k.length, row = Math.max(12, Math.min(22, Math.floor(700 / Math.max(Q, K, 1))));
  fontSize(Math.max(7, Math.min(12, row - 2)));
  var left = widest(shown.q) + 60, span = 260, right = left + span, top = 34;
  resize(right + widest(shown.k) + 70, top + Math.max(Q, K) * row + 20);
  ctx.fillStyle = "#222"; ctx.font = "bold 12px 'DejaVu Sans', Verdana, sans-serif"; ctx.textBaseline = "alphabetic"; ctx.textAlign = "left";
  ctx.fillText(shown.title, 2, 14);
  var q, k, w;
  ctx.lineWidth = 2;
  for (q = 0; q < Q; q++)
    for (k = 0; k < K; k++) {
      if ((hover.q >= 0 && q !== hover.q) || (hover.k >= 0 && k !== hover.k)) continue;
      w = shown.w[q * K + k];
      if (w < 0.01) continue;
      ctx.globalAlpha = Math.min(1, w / scaleTop);
      ctx.strokeStyle = "#3e4989";
      ctx.beginPath();
      ctx.moveTo(left + 6, top + (q + 0.5) * row);
      ctx.lineTo(right - 6, top + (k + 0.5) * row);
      ctx.stroke();
    }
  ctx.globalAlpha = 1;
  ctx.textBaseline = "middle";
  for (q = 0; q < Q; q++) {
    var qOn = q === hover.q;
    ctx.font = qOn ? BOLD : FONT; ctx.fillStyle = qOn ? "#c00" : "#222"; ctx.textAlign = "right";
    ctx.fillText(shown.q[q], left, top + (q + 0.5) * row);
    if (hover.k >= 0) {  // the weights into the hovered key
      ctx.font = FONT; ctx.fillStyle = "#555";
      ctx.fillText(shown.w[q * K + hover.k].toFixed(3), left - widest([shown.q[q]]) - 8, top + (q + 0.5) * row);
    }
  }
  for (k = 0; k < K; k++) {
    var kOn = k === hover.k;
    ctx.font = kOn ? BOLD : FONT; ctx.fillStyle = kOn ? "#c00" : "#222"; ctx.textAlign = "left";
    ctx.fillText(shown.k[k], right, top + (k + 0.5) * row);
    if (hover.q >= 0) {  // the hovered query's weights over the keys
      ctx.font = FONT; ctx.fillStyle = "#555";
      ctx.fillText(shown.w[hover.q * K + k].toFixed(3), right + widest([shown.k[k]]) + 8, top + (k + 0.5) * row);
    }
  }
  hitTest = function (x, y) {
    var r = Math.floor((y - top) / row);
    if (x < left + 10 && r >= 0 && r < Q) return { q: r, k: -1 };
    if (x > right - 10 && r >= 0 && r < K) return { q: -1, k: r };
    return { q: -1, k: -1 };
  };
}

function describe() {
  var K = shown.k.length, parts = [], k, q;
  if (hover.q >= 0 && hover.k >= 0)
    return "'" + shown.q[hover.q] + "' -> '" + shown.k[hover.k] + "': " + shown.w[hover.q * K + hover.k].toFixed(3);
  if (hover.q >= 0) {
    for (k = 0; k < K; k++) parts.push({ t: shown.k[k], w: shown.w[hover.q * K + k] });
    parts.sort(function (a, b) { return b.w - a.w; });
    return "'" + shown.q[hover.q] + "' attends to: " +
           parts.slice(0, 8).map(function (p) { return p.t + " " + p.w.toFixed(3); }).join("  ");
  }
  if (hover.k >= 0) {
    for (q = 0; q < shown.q.length; q++) parts.push({ t: shown.q[q], w: shown.w[q * K + hover.k] });
    parts.sort(function (a, b) { return b.w - a.w; });
    return "'" + shown.k[hover.k] + "' is attended by: " +
           parts.slice(0, 8).map(function (p) { return p.t + " " + p.w.toFixed(3); }).join("  ");
  }
  return "hover a token or a cell to see its weights";
}

// FNV-1a over the pixels: tests compare pictures through <body data-picture>.
function checksum() {
  var d = ctx.getImageData(0, 0, canvas.width, canvas.height).data, h = 2166136261, i;
  for (i = 0; i < d.length; i += 4) {
    h ^= d[i] | (d[i + 1] << 8) | (d[i + 2] << 16);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16) + "-" + canvas.width + "x" + canvas.height;
}

function draw() {
  if (state.view === "lines") drawLines(); else drawMatrix();
  $("info").textContent = describe();
  document.body.setAttribute("data-picture", checksum());
}

canvas.addEventListener("mousemove", function (e) {
  var r = canvas.getBoundingClientRect(), h = hitTest(e.clientX - r.left, e.clientY - r.top);
  if (h.q !== hover.q || h.k !== hover.k) { hover = h; draw(); }
});
canvas.addEventListener("mouseleave", function () { hover = { q: -1, k: -1 }; draw(); });
$("sentence").addEventListener("change", function () { state.sentence = Number(this.value); update(); });
$("module").addEventListener("change", function () { state.module = this.value; update(); });
$("layer").addEventListener("change", function () { state.layer = Number(this.value); update(); });
$("stretch").addEventListener("change", update);
Array.prototype.forEach.call($("views").children, function (b) {
  b.addEventListener("click", function () { state.view = b.getAttribute("data-view"); update(); });
});

(function legend() {
  var c = $("scale"), g = c.getContext("2d");
  for (var x = 0; x < c.width; x++) { g.fillStyle = colour(x / (c.width - 1)); g.fillRect(x, 0, 1, c.height); }
})();

// #sentence=N&module=M&layer=L&head=H&view=V (any subset) chooses what is shown first.
function readFragment() {
  location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
    var eq = pair.indexOf("="), key = pair.slice(0, eq), value;
    if (eq < 0) return;
    try { value = decodeURIComponent(pair.slice(eq + 1)); } catch (e) { return; }  // a malformed link: ignored
    if (key === "sentence") {
      data.sentences.forEach(function (s, i) { if (String(s.sentence) === value) state.sentence = i; });
    } else if (key === "module") state.module = value;
    else if (key === "layer") state.layer = Number(value);
    else if (key === "head") state.head = value;
    else if (key === "view" && (value === "matrix" || value === "lines")) state.view = value;
    else if (key === "stretch") $("stretch").checked = value === "1";
  });
}

// ?autotest: click another head's button, as a person would, and record both pictures.
function autotest(loadMs) {
  var before = document.body.getAttribute("data-picture"), first = state.head, after = before;
  var buttons = $("heads").getElementsByTagName("button"), i;
  var started = performance.now();  // the redraw a click costs (the data is parsed already)
  for (i = 0; i < buttons.length; i++)
    if (buttons[i].getAttribute("data-head") !== first) { buttons[i].click(); break; }
  var redrawMs = performance.now() - started;
  after = document.body.getAttribute("data-picture");
  var second = state.head;
  // hover a cell with a real mouse event: the info line names it and the picture marks it
  var box = canvas.getBoundingClientRect(), x, y, hovered = "", hoverPicture = after;
  for (x = box.width - 1, y = box.height - 1; x > 0 && y > 0; x -= 3, y -= 3) {
    var h = hitTest(x, y);
    if (h.q >= 0 && h.k >= 0) {
      canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: box.left + x, clientY: box.top + y, bubbles: true }));
      hovered = $("info").textContent;
      hoverPicture = document.body.getAttribute("data-picture");
      break;
    }
  }
  $("views").children[1].click();
  var lines = document.body.getAttribute("data-picture");
  var out = document.createElement("pre");
  out.id = "autotest";
  out.textContent = JSON.stringify({ first_head: first, before: before, second_head: second, after: after,
                                     hover_info: hovered, hover_picture: hoverPicture, lines: lines,
                                     heads: buttons.length, load_ms: Math.round(loadMs), redraw_ms: Math.round(redrawMs),
                                     errors: errors });
  document.body.appendChild(out);
}

try {
  if (!data.sentences.length || !data.sentences[0].maps.length) {
    $("info").textContent = "this dump holds no attention maps";
    document.body.setAttribute("data-picture", "empty");
  } else {
    readFragment();
    update();
  }
  var loadMs = performance.now() - loadStarted;  // JSON.parse and the first drawing, for autotest
  if (/[?&]autotest\b/.test(location.search)) autotest(loadMs);
} catch (e) {
  noteError(e && e.stack ? e.stack : e);
  throw e;
}
})();
</script>
</body>
</html>
)PAGE";

}  // namespace attn::viz
