#!/usr/bin/env bash
# The HTML attention viewer in a real browser (headless Debian `chromium`, which examples/setup.sh
# installs): a dump of a briefly trained reverse-digits Transformer, rendered from file://
#   - a screenshot is not blank (many distinct colours, the heatmap's viridis among them);
#   - the console stays silent (no uncaught exception, no console.error), and the page's own
#     error collector (<body data-errors>) is empty;
#   - a scripted click on another head's button (the page's ?autotest hook) changes the picture,
#     and so does choosing that head through the URL (#head=1): the canvas checksum differs;
#   - hovering a cell (a mouse event) shows its weight and marks its row and column.
# Skips (exit 77, CTest SKIP_RETURN_CODE) only when chromium is not installed.
set -u
attn=$1; src=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed (examples/setup.sh installs it; apt-get install chromium)"
  exit 77
fi
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
data=$src/examples/data

"$attn" vocab -q --type word --size 30 --column all -o w.vocab "$data/reverse-train.tsv" || fail=1
"$attn" train --arch transformer --layers 2 --d-model 32 --heads 4 --ff 64 --steps 60 --train "$data/reverse-train.tsv" \
  -v w.vocab --batch-size 32 --max-len 32 --threads 1 -q -o t.ckpt || { echo "FAIL: training"; exit 1; }
head -4 "$data/reverse-valid.tsv" >pairs.tsv
"$attn" attention -m t.ckpt --threads 1 --kind all --format html -o view.html pairs.tsv || { echo "FAIL: html dump"; exit 1; }

# One browser run: headless, a throw-away profile, console messages logged on stderr.
flags=(--headless --disable-gpu --no-first-run --no-default-browser-check --disable-extensions --hide-scrollbars
       --disable-dev-shm-usage --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 --window-size=1000,800)
[ "$(id -u)" -eq 0 ] && flags+=(--no-sandbox)  # chromium refuses to run as root with its sandbox
browse() {  # browse NAME URL ARGS... (stdout: what chromium prints; stderr to NAME.err)
  timeout 60 "$browser" "${flags[@]}" "${@:3}" "$2" 2>"$1.err"
}
console_errors() {  # console_errors NAME: fail on any console message (the page logs nothing)
  if grep -E ':CONSOLE|Uncaught' "$1.err" >/dev/null; then
    echo "FAIL: $1: the browser console: $(grep -E ':CONSOLE|Uncaught' "$1.err" | head -3)"
    fail=1
  fi
}
page="file://$tmp/view.html"

# A screenshot that is not blank.
browse shot "$page" --screenshot="$tmp/shot.png" >/dev/null
[ -s shot.png ] || { echo "FAIL: no screenshot ($(tail -3 shot.err))"; exit 1; }
console_errors shot
python3 - shot.png <<'PY' || fail=1
# A PNG decoded with the standard library (zlib): 8-bit RGB or RGBA, non-interlaced, as chromium writes.
import struct, sys, zlib
raw = open(sys.argv[1], "rb").read()
assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(raw):
    n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
    body = raw[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
bpp = 3 if colour == 2 else 4
data, stride = zlib.decompress(idat), width * bpp
rows, prev, pos = [], bytearray(stride), 0
for _ in range(height):
    kind, line = data[pos], bytearray(data[pos + 1:pos + 1 + stride])
    pos += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
colours, inked = set(), 0
for line in rows:
    for i in range(0, stride, bpp):
        rgb = bytes(line[i:i + 3])
        colours.add(rgb)
        inked += rgb != b"\xff\xff\xff"
share = inked / (width * height)
# the heatmap: dark viridis purples (#440154-ish: red and blue well above green)
purple = sum(1 for c in colours if c[0] < 110 and c[2] > 70 and c[1] < 60 and c[2] > c[1] + 30)
print("screenshot: %dx%d, %d distinct colours, %.1f%% not white, %d viridis purples" % (width, height, len(colours), 100 * share, purple))
assert len(colours) >= 30, "the page looks blank: %d colours" % len(colours)
assert share > 0.02, "the page looks blank: %.2f%% of it is not white" % (100 * share)
assert purple >= 1, "no heatmap colours on the page"
PY

# A scripted click on another head's button changes the picture; the page reports no error.
browse autotest "$page?autotest" --dump-dom >dom.html
console_errors autotest
python3 - dom.html <<'PY' || fail=1
import json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<pre id="autotest">(.*?)</pre>', dom, re.S)
assert m, "the page's autotest hook did not run (no <pre id=autotest>)"
r = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
print("autotest: head %s %s -> head %s %s, lines view %s" % (r["first_head"], r["before"], r["second_head"], r["after"], r["lines"]))
assert r["heads"] >= 4, "expected the 4 heads (and the mean) as buttons: %s" % r
assert r["first_head"] != r["second_head"], r
assert r["before"] != r["after"], "clicking another head did not change the picture: %s" % r
assert r["lines"] not in (r["before"], r["after"]), "the lines view looks like the matrix: %s" % r
assert " -> " in r["hover_info"] and r["hover_picture"] != r["after"], "hovering a cell shows nothing: %s" % r
assert not r["errors"], r["errors"]
assert not re.search(r"<body[^>]*data-errors=", dom), "the page collected script errors"
PY

# Choosing the head through the URL: the same matrix view, another picture.
checksum() { sed -n 's/.*data-picture="\([^"]*\)".*/\1/p' "$1" | head -1; }
browse head0 "$page#module=decoder.layers.1.cross_attn&head=0" --dump-dom >head0.html
browse head1 "$page#module=decoder.layers.1.cross_attn&head=1" --dump-dom >head1.html
console_errors head0
console_errors head1
a=$(checksum head0.html) b=$(checksum head1.html)
[ -n "$a" ] && [ -n "$b" ] || { echo "FAIL: no data-picture checksum in the page ('$a', '$b')"; fail=1; }
[ "$a" != "$b" ] || { echo "FAIL: #head=0 and #head=1 draw the same picture ($a)"; fail=1; }
exit $fail
