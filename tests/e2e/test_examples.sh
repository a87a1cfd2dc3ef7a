#!/usr/bin/env bash
# The worked examples (examples/translation, examples/language-model, examples/classifier) run end
# to end through the real binary in their quick mode (ATTN_QUICK=1: four training steps), each into
# an output directory of its own: the script exits 0; its checkpoint, decodings, scores and log are
# there and not empty; every SVG parses as XML (python3) with an <svg> root, the attention maps
# holding their cells and the curves their panels; the HTML viewer is one self-contained page; and
# the repository's tracked files are untouched. 61 s in the full ctest on a busy 2-core machine (load ~10).
set -u
attn=$1; src=$2
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say_fail() { echo "FAIL: $*"; fail=1; }
tracked_state() { git -C "$src" status --porcelain --untracked-files=no 2>/dev/null; }
before=$(tracked_state)

check_svg() {  # check_svg FILE WHAT(attention|curves)
  python3 - "$1" "$2" <<'PY' || return 1
import sys, xml.etree.ElementTree as ET
path, what = sys.argv[1], sys.argv[2]
root = ET.parse(path).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", f"{path}: root is {root.tag}"
if what == "attention":
    maps = [g for g in root.iter(ns + "g") if g.get("class") == "map"]
    assert maps, f"{path}: no map"
    for g in maps:
        cells = [r for r in g.iter(ns + "rect") if r.get("class") == "cell"]
        q = [t for t in g.iter(ns + "text") if t.get("class") == "query"]
        k = [t for t in g.iter(ns + "text") if t.get("class") == "key"]
        assert q and k and len(cells) == len(q) * len(k), f"{path}: {len(cells)} cells for {len(q)} x {len(k)}"
else:
    assert len(list(root.iter(ns + "polyline"))) + len(list(root.iter(ns + "path"))) > 0, f"{path}: no curve"
PY
}

run_example() {  # run_example NAME FILE...
  local name=$1; shift
  local out=$tmp/$name
  if ! ATTN_QUICK=1 bash "$src/examples/$name/run.sh" "$attn" "$out" >"$tmp/$name.log" 2>&1; then
    say_fail "$name: run.sh failed: $(tail -3 "$tmp/$name.log")"; return
  fi
  for f in "$@"; do [ -s "$out/$f" ] || say_fail "$name: $f missing or empty"; done
  for f in attention.svg $([ "$name" = classifier ] && echo lang-attention.svg); do check_svg "$out/$f" attention || say_fail "$name: $f does not parse as attention maps"; done
  check_svg "$out/curves.svg" curves || say_fail "$name: curves.svg does not parse as curves"
  if [ -s "$out/attention.html" ]; then
    grep -q '<script' "$out/attention.html" || say_fail "$name: attention.html has no script"
    if grep -Eq '<(script|link|img)[^>]+(src|href)="https?:' "$out/attention.html"; then
      say_fail "$name: attention.html fetches from the network"
    fi
  fi
  [ -s "$out/time.txt" ] || say_fail "$name: no time.txt"
}

run_example translation model.ckpt train.log.csv hyp.greedy.fr hyp.beam5.fr scores.txt alignment.txt attention.html
grep -q 'BLEU = ' "$tmp/translation/scores.txt" 2>/dev/null || say_fail "translation: no BLEU in scores.txt"
grep -q ' ||| ' "$tmp/translation/alignment.txt" 2>/dev/null || say_fail "translation: alignment.txt not 'hyp ||| links'"
[ "$(wc -l <"$tmp/translation/hyp.beam5.fr")" = 20 ] || say_fail "translation: expected 20 beam hypotheses"

run_example language-model model.ckpt train.log.csv scores.txt prompts.txt attention.html
grep -q 'bits/byte = ' "$tmp/language-model/scores.txt" 2>/dev/null || say_fail "language-model: no bits/byte in scores.txt"
[ "$(wc -l <"$tmp/language-model/sampled.txt")" = 2 ] || say_fail "language-model: expected 2 sampled continuations"

run_example classifier model.ckpt sentiment.log.csv lang.log.csv lang-predicted.labels predicted.labels scores.txt attention.html
grep -Eq '^accuracy = [0-9.]+ \([0-9]+/200\)' "$tmp/classifier/scores.txt" 2>/dev/null ||
  say_fail "classifier: no accuracy over 200 labels in scores.txt"
bad=$(grep -cvE '^(positive|negative)$' "$tmp/classifier/predicted.labels")
[ "$bad" = 0 ] || say_fail "classifier: $bad predicted labels are not positive/negative"

# A missing binary is a one-line usage error.
ATTN_QUICK=1 bash "$src/examples/classifier/run.sh" "$tmp/no-such-attn" "$tmp/none" >/dev/null 2>"$tmp/err"
[ $? = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] || say_fail "a missing binary: expected exit 2 and one line: $(cat "$tmp/err")"
[ ! -e "$tmp/none" ] || say_fail "a missing binary: the output directory was created"

[ "$(tracked_state)" = "$before" ] || say_fail "the examples changed tracked files of the repository"
[ $fail = 0 ] && echo "test_examples: ok"
exit $fail
