#!/usr/bin/env bash
# Pictures through the real binary: `attn attention --format svg|html` on briefly trained models
# (the SVG parsed as XML by python3: one cell per query x key of every map, the tokens as labels,
# escaped; the HTML self-contained with its maps as JSON; csv still the default), and `attn plot`
# on two training logs (one panel per metric, one line per run, labels = file names); bad input
# gives one-line errors and leaves -o files untouched. --threads 1 throughout.
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
data=$src/examples/data
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=1; fi
}
one_line() {  # one_line NAME FILE
  [ "$(wc -l <"$2")" -eq 1 ] || { echo "FAIL: $1: expected a one-line error, got: $(cat "$2")"; fail=1; }
}

"$attn" vocab -q --type word --size 30 --column all -o w.vocab "$data/reverse-train.tsv" || fail=1
"$attn" train --arch transformer --layers 2 --d-model 32 --heads 2 --ff 64 --steps 30 --train "$data/reverse-train.tsv" \
  --valid "$data/reverse-valid.tsv" --valid-every 10 -v w.vocab --batch-size 32 --max-len 32 --threads 1 -q \
  --log run-a.csv -o t.ckpt || { echo "FAIL: transformer training"; fail=1; }
"$attn" train --arch transformer --layers 2 --d-model 32 --heads 2 --ff 64 --steps 20 --lr 0.003 \
  --train "$data/reverse-train.tsv" -v w.vocab --batch-size 32 --max-len 32 --threads 1 -q --log run-b.csv \
  -o t2.ckpt || { echo "FAIL: second training"; fail=1; }
head -3 "$data/reverse-valid.tsv" >pairs.tsv

# csv is the default, and --format csv the same bytes.
"$attn" attention -m t.ckpt --threads 1 --kind all pairs.tsv >default.csv || fail=1
"$attn" attention -m t.ckpt --threads 1 --kind all --format csv -o explicit.csv pairs.tsv || fail=1
cmp -s default.csv explicit.csv || { echo "FAIL: --format csv differs from the default output"; fail=1; }

# svg: every map of every sentence, cells = queries x keys, labels = the CSV's tokens.
"$attn" attention -m t.ckpt --threads 1 --kind all --format svg -o maps.svg pairs.tsv; check "--format svg" 0 $?
"$attn" attention -m t.ckpt --threads 1 --kind all --format svg pairs.tsv >stdout.svg; check "--format svg to stdout" 0 $?
cmp -s maps.svg stdout.svg || { echo "FAIL: -o and stdout differ"; fail=1; }
python3 - maps.svg default.csv <<'PY' || fail=1
import csv, sys, collections, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("version") == "1.1", root.attrib
# the CSV's maps: (sentence, module, head) -> query tokens, key tokens
queries, keys = collections.defaultdict(dict), collections.defaultdict(dict)
for r in csv.DictReader(open(sys.argv[2], encoding="utf-8")):
    m = (r["sentence"], r["module"], r["head"])
    queries[m][int(r["query_pos"])] = r["query_token"]
    keys[m][int(r["key_pos"])] = r["key_token"]
drawn = 0
for sentence in root.findall("s:g[@class='sentence']", ns):
    n = sentence.get("id").split("-")[1]
    for g in sentence.findall("s:g[@class='map']", ns):
        title = g.find("s:text[@class='title']", ns).text  # "<module> (<kind>) layer L head H"
        module, head = title.split(" ")[0], title.split(" ")[-1]
        m = (n, module, head)
        assert m in queries, "a map the CSV lacks: %s" % (m,)
        q = [t.text or "" for t in g.findall("s:text[@class='query']", ns)]
        k = [t.text or "" for t in g.findall("s:text[@class='key']", ns)]
        assert q == [queries[m][i] for i in range(len(queries[m]))], (m, q)
        assert k == [keys[m][i] for i in range(len(keys[m]))], (m, k)
        cells = g.findall("s:rect[@class='cell']", ns)
        assert len(cells) == len(q) * len(k), (m, len(cells), len(q), len(k))
        assert all(c.get("fill", "").startswith("#") for c in cells)
        drawn += 1
assert drawn == len(queries) == 3 * 2 * 3 * 2, (drawn, len(queries))  # 3 sentences x 2 layers x 3 modules x 2 heads
PY

# --layer/--head filter the pictures as they filter the CSV.
"$attn" attention -m t.ckpt --threads 1 --layer 1 --head mean --format svg -o mean.svg pairs.tsv || fail=1
python3 -c '
import sys, xml.etree.ElementTree as ET
titles = [t.text for t in ET.parse(sys.argv[1]).iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "title"]
assert titles == ["decoder.layers.1.cross_attn (cross) layer 1 head mean"] * 3, titles' mean.svg || fail=1

# html: one self-contained page holding the same maps.
"$attn" attention -m t.ckpt --threads 1 --kind all --format html -o view.html pairs.tsv; check "--format html" 0 $?
python3 - view.html <<'PY' || fail=1
import json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
assert page.startswith("<!DOCTYPE html>")
for fetch in ("http://", "https://", "src=", "href=", "@import"):
    assert fetch not in page, "the page fetches something: " + fetch
data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
assert [s["sentence"] for s in data["sentences"]] == [0, 1, 2]
for s in data["sentences"]:
    assert len(s["maps"]) == 12
    for m in s["maps"]:
        Q, K = len(s["tokens"][m["q"]]), len(s["tokens"][m["k"]])
        assert len(m["w"]) == Q * K and all(0 <= w <= 1000 for w in m["w"])
        for q in range(Q):
            assert abs(sum(m["w"][q * K:(q + 1) * K]) - 1000) <= K, "a row is not a distribution"
PY

# Tokens that need escaping: a character-level lm over text with < & " > in it.
printf '<a&b> "c"\n' >odd.txt
for i in 1 2 3 4 5 6 7 8; do printf 'x<y & "z">\n' >>odd.txt; done
"$attn" vocab -q --type char --size 40 -o c.vocab odd.txt || fail=1
"$attn" train --arch lm --train odd.txt -v c.vocab --layers 1 --d-model 16 --heads 2 --ff 32 --max-len 16 --steps 3 \
  --threads 1 -q -o odd.ckpt 2>err.txt || { echo "FAIL: lm training: $(cat err.txt)"; fail=1; }
printf '<&">\n' | "$attn" attention -m odd.ckpt --threads 1 --format svg -o odd.svg; check "svg of <&\">" 0 $?
python3 -c '
import sys, xml.etree.ElementTree as ET
labels = [t.text for t in ET.parse(sys.argv[1]).iter("{http://www.w3.org/2000/svg}text") if t.get("class") in ("query", "key")]
for ch in "<&\">":
    assert ch in labels, (ch, labels)' odd.svg || fail=1
grep -q '&lt;' odd.svg && grep -q '&amp;' odd.svg || { echo "FAIL: odd.svg does not escape < and &"; fail=1; }
printf '<&">\n' | "$attn" attention -m odd.ckpt --threads 1 --format html -o odd.html; check "html of <&\">" 0 $?

# Bad input: one line, exit 2 (usage) or 1 (runtime); a failed dump leaves the -o file as it was.
"$attn" attention -m t.ckpt --format png pairs.tsv 2>err.txt >/dev/null; check "--format png" 2 $?
one_line "--format png" err.txt
grep -q -- "--format" err.txt || { echo "FAIL: --format message: $(cat err.txt)"; fail=1; }
cp maps.svg before.svg
printf '1 2\n1 2\xff\n' | "$attn" attention -m t.ckpt --threads 1 --format svg -o maps.svg 2>err.txt; check "invalid UTF-8" 1 $?
one_line "invalid UTF-8" err.txt
cmp -s maps.svg before.svg || { echo "FAIL: a failed dump changed maps.svg"; fail=1; }
[ -z "$(ls | grep '\.tmp-')" ] || { echo "FAIL: temporary files left: $(ls)"; fail=1; }

# attn plot: two runs overlaid, panels for what the logs hold.
"$attn" plot run-a.csv run-b.csv -o curves.svg; check "plot" 0 $?
python3 - curves.svg <<'PY' || fail=1
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
panels = {g.get("id"): g for g in root.findall("s:g[@class='panel']", ns)}
# run-a validated (loss, perplexity, accuracy), run-b did not; both have loss, lr and tokens/s
assert set(panels) == {"panel-train-loss", "panel-valid-loss", "panel-valid-perplexity", "panel-valid-accuracy",
                       "panel-lr", "panel-tokens-per-s"}, sorted(panels)
for name, g in panels.items():
    lines = [p.get("class") for p in g.findall("s:polyline", ns) if p.get("class").startswith("line")]
    want = ["line run-0"] if name.startswith("panel-valid") else ["line run-0", "line run-1"]
    assert lines == want, (name, lines)
    assert all(len(p.get("points").split()) >= 1 for p in g.findall("s:polyline", ns))
    assert len([t for t in g.findall("s:text", ns) if t.get("class") == "ytick"]) >= 2, name
    assert any(t.text == "step" for t in g.findall("s:text", ns)), name
train = panels["panel-train-loss"].find("s:polyline[@class='line run-0']", ns)
assert len(train.get("points").split()) == 30, "one point per step of run-a"
legend = [t.text for t in root.find("s:g[@class='legend']", ns).findall("s:text", ns)]
assert legend == ["run-a.csv", "run-b.csv"], legend
PY
"$attn" plot --logs run-a.csv --logs run-b.csv -o logs-twice.svg; check "plot --logs A --logs B" 0 $?
cmp -s curves.svg logs-twice.svg || { echo "FAIL: plot --logs A --logs B differs from plot A B"; fail=1; }
"$attn" plot run-b.csv >stdout-plot.svg; check "plot to stdout" 0 $?
grep -q '<svg' stdout-plot.svg || { echo "FAIL: plot wrote no SVG on stdout"; fail=1; }
# a log of 300,000 steps: each line thinned to a few points per pixel column, its extremes kept
{ head -1 run-a.csv
  awk 'BEGIN { for (s = 1; s <= 300000; s++) printf "%d,0,%.4f,0.001,100,5000,1.0,,,,train\n", s, 2 + (s * 7919 % 1000) / 1000 + (s == 150000 ? 5 : 0) }'
} >long.csv
"$attn" plot long.csv --smooth 0 -o long.svg; check "plot of 300,000 steps" 0 $?
python3 - long.svg <<'PY' || fail=1
import os, sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
assert os.path.getsize(sys.argv[1]) < 300000, os.path.getsize(sys.argv[1])  # every point: ~12 MB
root = ET.parse(sys.argv[1]).getroot()
loss = root.find("s:g[@id='panel-train-loss']/s:polyline[@class='line run-0']", ns)
ys = [float(p.split(",")[1]) for p in loss.get("points").split()]
assert 1000 <= len(ys) <= 6000, len(ys)
# the one spike (7.x) is the line's top; the rest lies in [2, 3): a spike 5 units above a band of 1
band = sorted(ys)[len(ys) // 2]
assert band - min(ys) > 3 * (max(ys) - band), (min(ys), band, max(ys))
PY
cp curves.svg before.svg
"$attn" plot run-a.csv missing.csv -o curves.svg 2>err.txt; check "plot missing.csv" 1 $?
one_line "plot missing.csv" err.txt
grep -q "missing.csv" err.txt || { echo "FAIL: the message names no file: $(cat err.txt)"; fail=1; }
"$attn" plot pairs.tsv -o curves.svg 2>err.txt; check "plot of a non-log" 1 $?
one_line "plot of a non-log" err.txt
grep -q "'pairs.tsv' is not an attn training log" err.txt || { echo "FAIL: non-log message: $(cat err.txt)"; fail=1; }
# A NUL byte in a field: the whole message, the NUL shown as \x00 (not cut at the NUL).
{ head -1 run-a.csv; printf '1,0,3\000x,0.001,10,1,1,,,,train\n'; } >nul.csv
"$attn" plot nul.csv -o curves.svg 2>err.txt; check "plot of a log with a NUL" 1 $?
one_line "plot of a log with a NUL" err.txt
grep -qF "'nul.csv' line 2: loss '3\x00x' is not a number" err.txt || { echo "FAIL: NUL message: $(cat -A err.txt)"; fail=1; }
cmp -s curves.svg before.svg || { echo "FAIL: a failed plot changed curves.svg"; fail=1; }
"$attn" plot -o curves.svg 2>err.txt; check "plot without logs" 2 $?
one_line "plot without logs" err.txt
"$attn" plot run-a.csv --smooth 2 2>err.txt >/dev/null; check "plot --smooth 2" 2 $?
one_line "plot --smooth 2" err.txt
exit $fail
