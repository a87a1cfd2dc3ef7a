#!/usr/bin/env bash
# attn eval, end to end. Hypothesis mode: BLEU of identical files is 100, an independent Python
# implementation (standard library only, written here from the sacrebleu definition) agrees on
# BLEU and chrF for generated hypotheses, and the error paths. Model mode: an lm's loss equals the
# validation loss training logged for the same file, and a classifier reports an accuracy.
set -u
attn=$1
data=$2/examples/data
fail=0
check() {  # check NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=1; fi
}
one_line() {  # one_line NAME FILE: exactly one line on stderr, from attn eval
  if [ "$(wc -l <"$2")" -ne 1 ] || ! grep -q "^attn eval: " "$2"; then
    echo "FAIL: $1: expected a one-line 'attn eval:' error, got: $(cat "$2")"; fail=1
  fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# --- hypothesis mode ---------------------------------------------------------------------------
head -200 "$data/kjv-genesis.txt" >gen.txt
"$attn" eval --ref gen.txt gen.txt >out.txt; check "identical files" 0 $?
grep -qx 'BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = [0-9]* ref_len = [0-9]*)' out.txt \
  || { echo "FAIL: BLEU of identical files: $(cat out.txt)"; fail=1; }
"$attn" eval --ref gen.txt --metric chrf,accuracy <gen.txt >out.txt; check "identical files from stdin" 0 $?
[ "$(cat out.txt)" = "$(printf 'chrF2 = 100.00\naccuracy = 1.0000 (200/200)')" ] \
  || { echo "FAIL: chrF / accuracy of identical files: $(cat out.txt)"; fail=1; }

head -199 gen.txt >short.txt
"$attn" eval --ref gen.txt short.txt >/dev/null 2>err.txt; check "mismatched line counts" 1 $?
one_line "mismatched line counts" err.txt
grep -q "199" err.txt && grep -q "200" err.txt || { echo "FAIL: line count message: $(cat err.txt)"; fail=1; }
"$attn" eval --ref missing.txt gen.txt >/dev/null 2>err.txt; check "missing reference" 1 $?
one_line "missing reference" err.txt
"$attn" eval --ref gen.txt missing.txt >/dev/null 2>err.txt; check "missing hypotheses" 1 $?
one_line "missing hypotheses" err.txt
"$attn" eval --ref gen.txt --frobnicate gen.txt >/dev/null 2>err.txt; check "unknown option" 2 $?
one_line "unknown option" err.txt
"$attn" eval --ref gen.txt --metric meteor gen.txt >/dev/null 2>err.txt; check "unknown metric" 2 $?
# --hyp and the positional HYP are one option: given both, say that, not Boost's "cannot be
# specified more than once" (the user gave --hyp once).
"$attn" eval --ref gen.txt --hyp gen.txt gen.txt >/dev/null 2>err.txt; check "--hyp and a positional HYP" 2 $?
one_line "--hyp and a positional HYP" err.txt
grep -qx "attn eval: give the hypotheses once: --hyp FILE or a positional FILE, not both" err.txt \
  || { echo "FAIL: --hyp and a positional HYP: $(cat err.txt)"; fail=1; }
one_line "unknown metric" err.txt
"$attn" eval gen.txt >/dev/null 2>err.txt; check "no --ref and no -m" 2 $?
one_line "no --ref and no -m" err.txt
printf 'a\n\nc\n' >blank-ref.txt
printf 'a\nb\nc\n' >abc.txt
"$attn" eval --ref blank-ref.txt abc.txt >/dev/null 2>err.txt; check "empty reference line" 1 $?
one_line "empty reference line" err.txt
grep -q "blank-ref.txt:2" err.txt || { echo "FAIL: empty reference message: $(cat err.txt)"; fail=1; }

"$attn" eval --ref gen.txt --metric bleu --metric chrf,accuracy --json gen.txt >out.json; check "--json" 0 $?
python3 -c 'import json,sys; d = json.load(sys.stdin); assert set(d) >= {"bleu", "precisions", "bp", "ratio", "hyp_len", "ref_len", "chrf", "accuracy"}, d; assert d["bleu"] == 100' <out.json \
  || { echo "FAIL: --json output: $(cat out.json)"; fail=1; }

# An independent corpus BLEU (13a tokenization with Python's re, exp smoothing, closest
# reference length) and chrF2 on generated hypotheses: French UI strings (punctuation, numbers,
# entities, non-breaking spaces) and Genesis verses, perturbed word by word.
cat >ref_bleu.py <<'EOF'
import json, math, random, re, sys
from collections import Counter

def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l.rstrip() for l in lines]

def tok13a(s):
    s = s.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    s = s.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    s = " " + s + " "
    s = re.sub(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 ", s)
    s = re.sub(r"([^0-9])([\.,])", r"\1 \2 ", s)
    s = re.sub(r"([\.,])([^0-9])", r" \1 \2", s)
    s = re.sub(r"([0-9])(-)", r"\1 \2 ", s)
    return s.split()

def word_ngrams(toks):
    c = Counter()
    for n in range(1, 5):
        for i in range(len(toks) - n + 1):
            c[tuple(toks[i:i + n])] += 1
    return c

def bleu(hyps, refsets, lower):
    prep = lambda s: tok13a((s.lower() if lower else s).rstrip())
    correct, total, c, r = [0] * 4, [0] * 4, 0, 0
    for i, h in enumerate(hyps):
        ht = prep(h)
        best, lens = Counter(), []
        for ref in [rs[i] for rs in refsets if rs[i] != ""]:
            rt = prep(ref)
            lens.append(len(rt))
            for g, k in word_ngrams(rt).items():
                best[g] = max(best[g], k)
        c += len(ht)
        r += min(lens, key=lambda n: (abs(n - len(ht)), n))
        for g, k in word_ngrams(ht).items():
            total[len(g) - 1] += k
            correct[len(g) - 1] += min(k, best[g])
    if not any(correct):
        return 0.0, c, r
    logp, halvings = 0.0, 0
    for n in range(4):
        if total[n] == 0:
            return 0.0, c, r
        if correct[n] == 0:
            halvings += 1
            logp += math.log(1.0 / (2 ** halvings * total[n]))
        else:
            logp += math.log(correct[n] / total[n])
    bp = 1.0 if c >= r else (math.exp(1 - r / c) if c else 0.0)
    return 100 * bp * math.exp(logp / 4), c, r

def char_ngrams(s):
    s = "".join(s.split())
    return [Counter(s[i:i + n] for i in range(len(s) - n + 1)) for n in range(1, 7)]

def fscore(st):
    p = rc = 0.0
    orders = 0
    for n in range(6):
        h, r, m = st[3 * n:3 * n + 3]
        if h > 0 and r > 0:
            p, rc, orders = p + m / h, rc + m / r, orders + 1
    if orders == 0:
        return 0.0
    p, rc = p / orders, rc / orders
    return 0.0 if p + rc == 0 else 100 * 5 * p * rc / (4 * p + rc)

def chrf(hyps, refsets, lower):
    prep = lambda s: s.lower() if lower else s
    total = [0] * 18
    for i, h in enumerate(hyps):
        hg = char_ngrams(prep(h))
        best, best_f = None, -1.0
        for ref in [rs[i] for rs in refsets if rs[i] != ""]:
            rg = char_ngrams(prep(ref))
            st = []
            for n in range(6):
                m = sum(min(k, rg[n][g]) for g, k in hg[n].items() if g in rg[n])
                st += [sum(hg[n].values()) if rg[n] else 0, sum(rg[n].values()), m]
            f = fscore(st)
            if f > best_f:
                best, best_f = st, f
        total = [a + b for a, b in zip(total, best)]
    return fscore(total)

def perturb(line, rnd, vocab):
    extras = ["1,000", "3.14", "5-6", "&amp;", "&quot;oui&quot;", "<skipped>", "(voir", "l'homme", "fin.", "x/y", "100%"]
    out = []
    for w in line.split(" "):
        u = rnd.random()
        if u < 0.08:
            continue
        if u < 0.16:
            w = rnd.choice(vocab)
        elif u < 0.20:
            out.append(w)
        elif u < 0.25:
            w = rnd.choice(extras)
        elif u < 0.28:
            w = w.upper()
        out.append(w)
        if rnd.random() < 0.04 and len(out) > 1:
            out[-1], out[-2] = out[-2], out[-1]
    u = rnd.random()
    if u < 0.03:
        return ""
    if u < 0.06:
        return out[0] if out else ""
    return " ".join(out) + (" " if u > 0.97 else "")

if sys.argv[1] == "make":
    src, n, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    lines = [l for l in read(src) if l.strip()]
    if src.endswith(".tsv"):
        lines = [l.split("\t")[1] for l in lines if "\t" in l and l.split("\t")[1].strip()]
    rnd = random.Random(seed)
    start = rnd.randrange(0, len(lines) - n)
    refs = lines[start:start + n]
    vocab = sorted({w for l in refs for w in l.split()})
    with open("ref.txt", "w", encoding="utf-8") as f:
        f.write("".join(r + "\n" for r in refs))
    with open("ref2.txt", "w", encoding="utf-8") as f:
        f.write("".join(perturb(r, rnd, vocab) + "\n" for r in refs))
    with open("hyp.txt", "w", encoding="utf-8") as f:
        f.write("".join(perturb(r, rnd, vocab) + "\n" for r in refs))
else:
    lower = sys.argv[1] == "--lowercase"
    files = sys.argv[2:] if lower else sys.argv[1:]
    hyps, refsets = read(files[0]), [read(p) for p in files[1:]]
    b, c, r = bleu(hyps, refsets, lower)
    print(json.dumps({"bleu": b, "hyp_len": c, "ref_len": r, "chrf": chrf(hyps, refsets, lower)}))
EOF
compare() {  # compare NAME PYTHON_ARGS -- ATTN_ARGS
  local name=$1; shift
  local py=(); while [ "$1" != "--" ]; do py+=("$1"); shift; done; shift
  python3 ref_bleu.py "${py[@]}" >py.json || { echo "FAIL: $name: the Python reference failed"; fail=1; return; }
  "$attn" eval "$@" --metric bleu,chrf --json >attn.json 2>err.txt || { echo "FAIL: $name: $(cat err.txt)"; fail=1; return; }
  python3 - "$name" <<'EOF' || fail=1
import json, sys
py, at = json.load(open("py.json")), json.load(open("attn.json"))
print(f"{sys.argv[1]}: attn BLEU {at['bleu']:.4f} chrF {at['chrf']:.4f}, Python BLEU {py['bleu']:.4f} chrF {py['chrf']:.4f}")
ok = abs(py["bleu"] - at["bleu"]) < 0.01 and abs(py["chrf"] - at["chrf"]) < 0.01
ok = ok and py["hyp_len"] == at["hyp_len"] and py["ref_len"] == at["ref_len"] and 1 < at["bleu"] < 99
if not ok:
    print(f"FAIL: {sys.argv[1]}: attn {at} vs Python {py}")
    sys.exit(1)
EOF
}
python3 ref_bleu.py make "$data/en-fr.tsv" 500 11 || fail=1
compare "French, one reference" hyp.txt ref.txt -- --ref ref.txt hyp.txt
compare "French, two references" hyp.txt ref.txt ref2.txt -- --ref ref.txt --ref ref2.txt hyp.txt
"$attn" eval --ref ref.txt <hyp.txt >stdin.txt && "$attn" eval --ref ref.txt hyp.txt >file.txt && cmp -s stdin.txt file.txt \
  || { echo "FAIL: hypotheses from stdin score differently from the file"; fail=1; }
python3 ref_bleu.py make "$data/kjv-genesis.txt" 400 12 || fail=1
compare "Genesis, lowercased" --lowercase hyp.txt ref.txt -- --ref ref.txt --lowercase hyp.txt
compare "Genesis, two references" hyp.txt ref.txt ref2.txt -- --ref ref.txt --ref ref2.txt hyp.txt

# --- model mode --------------------------------------------------------------------------------
head -300 "$data/kjv-genesis.txt" >lm-train.txt
sed -n '1001,1100p' "$data/kjv-genesis.txt" >lm-valid.txt
"$attn" train --arch lm --train lm-train.txt --valid lm-valid.txt --layers 1 --d-model 32 --heads 2 --ff 64 \
  --max-len 32 --steps 30 --vocab-size 300 --threads 1 -q -o lm.ckpt --log lm.csv 2>err.txt
check "train a tiny lm" 0 $?
"$attn" eval -m lm.ckpt --data lm-valid.txt --threads 1 >out.txt 2>err.txt; check "eval an lm" 0 $?
grep -Eqx 'loss = [0-9.]+ ppl = [0-9.]+ accuracy = [0-9.]+ bits/byte = [0-9.]+ tokens = [0-9]+' out.txt \
  || { echo "FAIL: lm eval output: $(cat out.txt) $(cat err.txt)"; fail=1; }
"$attn" eval -m lm.ckpt --data lm-valid.txt --threads 1 --json >out.json 2>err.txt; check "eval an lm --json" 0 $?
python3 - <<'EOF' || fail=1
import csv, json, math
e = json.load(open("out.json"))
rows = [r for r in csv.DictReader(open("lm.csv")) if r["split"] == "valid"]
v = rows[-1]
ok = all(math.isfinite(e[k]) and e[k] > 0 for k in ("loss", "perplexity", "bits_per_byte"))
ok = ok and abs(e["loss"] - float(v["loss"])) <= 1e-5 * float(v["loss"])
ok = ok and abs(e["bits_per_byte"] - float(v["bits_per_byte"])) <= 1e-5 * float(v["bits_per_byte"])
ok = ok and e["tokens"] == int(v["tokens"]) and abs(e["perplexity"] - math.exp(e["loss"])) < 1e-6 * e["perplexity"]
print(f"lm: eval loss {e['loss']:.6f} ppl {e['perplexity']:.2f} bits/byte {e['bits_per_byte']:.4f}; training's last validation loss {float(v['loss']):.6f}")
if not ok:
    print(f"FAIL: lm eval {e} does not match the training log's validation row {dict(v)}")
    raise SystemExit(1)
EOF

# A classifier: accuracy over the validation labels; an unknown label is a malformed line.
"$attn" train --arch classifier --train "$data/sentiment-train.tsv" --layers 1 --d-model 32 --heads 2 --ff 64 \
  --steps 20 --vocab-size 300 --threads 1 -q -o cls.ckpt 2>err.txt
check "train a tiny classifier" 0 $?
"$attn" eval -m cls.ckpt --data "$data/sentiment-valid.tsv" >out.txt 2>err.txt; check "eval a classifier" 0 $?
awk '{ if (!($1 == "loss" && $7 == "accuracy" && $9 >= 0 && $9 <= 1 && $10 == "examples" && $12 == 200)) exit 1 }' out.txt \
  || { echo "FAIL: classifier eval output: $(cat out.txt)"; fail=1; }
{ cat "$data/sentiment-valid.tsv"; printf 'neutral\tsome words\nno tab here\n'; } >cls-bad.tsv
"$attn" eval -m cls.ckpt --data cls-bad.tsv >out.txt 2>err.txt; check "eval with malformed lines" 0 $?
grep -q "2 malformed lines of 202" err.txt && grep -q "cls-bad.tsv:201" err.txt \
  || { echo "FAIL: malformed line report: $(cat err.txt)"; fail=1; }
grep -q "examples = 200" out.txt || { echo "FAIL: malformed lines not skipped: $(cat out.txt)"; fail=1; }
"$attn" eval -m cls.ckpt --data cls-bad.tsv --strict >/dev/null 2>err.txt; check "--strict" 1 $?
one_line "--strict" err.txt
# A NUL byte in a label: shown as \x00 in the error and in the skip warning, the message whole.
{ head -2 "$data/sentiment-valid.tsv"; printf 'pos\000itive\tgood text\n'; } >cls-nul.tsv
"$attn" eval -m cls.ckpt --data cls-nul.tsv --strict >/dev/null 2>err.txt; check "NUL label --strict" 1 $?
one_line "NUL label --strict" err.txt
grep -qF "cls-nul.tsv:3: label 'pos\x00itive' does not occur in the training data (--strict)" err.txt \
  || { echo "FAIL: NUL label --strict: $(cat -A err.txt)"; fail=1; }
"$attn" eval -m cls.ckpt --data cls-nul.tsv >/dev/null 2>err.txt; check "NUL label skipped" 0 $?
grep -qF "cls-nul.tsv:3: label 'pos\x00itive' does not occur in the training data" err.txt \
  && [ "$(tr -d '\000' <err.txt | wc -c)" = "$(wc -c <err.txt)" ] \
  || { echo "FAIL: NUL label warning: $(cat -A err.txt)"; fail=1; }

# Model-mode errors.
printf 'only\tmalformed\tlines\n' >bad.tsv
"$attn" eval -m cls.ckpt --data bad.tsv >/dev/null 2>err.txt; check "no usable examples" 1 $?
grep -q "^attn eval: 'bad.tsv' holds no usable examples" err.txt || { echo "FAIL: empty data: $(cat err.txt)"; fail=1; }
one_line "no usable examples" err.txt
# Plain text to a transformer: one line naming the format and the first line's problem, not the skip
# summary followed by the error.
head -200 "$data/en-fr.tsv" >fr.tsv
head -50 "$data/kjv-genesis.txt" >plain.txt
"$attn" train --arch transformer --train fr.tsv --layers 1 --d-model 16 --heads 2 --ff 16 --max-len 16 --steps 1 \
  --vocab-size 300 --threads 1 -q -o tr.ckpt 2>err.txt
check "train a tiny transformer" 0 $?
"$attn" eval -m tr.ckpt plain.txt >/dev/null 2>err.txt; check "plain text to a transformer" 1 $?
one_line "plain text to a transformer" err.txt
grep -qF "'plain.txt' holds no usable examples: none of its 50 lines is usable source<TAB>target; line 1: expected 2 tab-separated fields" err.txt \
  || { echo "FAIL: plain text to a transformer: $(cat err.txt)"; fail=1; }
# Some lines usable: the skip summary stays, a warning, and eval scores the rest.
{ head -3 fr.tsv; head -2 plain.txt; } >mixed.tsv
"$attn" eval -m tr.ckpt mixed.tsv >/dev/null 2>err.txt; check "some lines usable" 0 $?
grep -qF "2 malformed lines of 5 in mixed.tsv skipped:" err.txt || { echo "FAIL: skip summary: $(cat err.txt)"; fail=1; }
: >empty.txt
"$attn" eval -m lm.ckpt --data empty.txt >/dev/null 2>err.txt; check "empty data" 1 $?
one_line "empty data" err.txt
"$attn" eval -m missing.ckpt --data lm-valid.txt >/dev/null 2>err.txt; check "missing checkpoint" 1 $?
one_line "missing checkpoint" err.txt
"$attn" eval -m gen.txt --data lm-valid.txt >/dev/null 2>err.txt; check "not a checkpoint" 1 $?
one_line "not a checkpoint" err.txt
# The data is the positional argument or stdin, as decode's input; --data says the same.
"$attn" eval -m lm.ckpt --data lm-valid.txt --threads 1 >by-option.txt; check "eval -m --data" 0 $?
"$attn" eval -m lm.ckpt lm-valid.txt --threads 1 >by-position.txt; check "eval -m DATA" 0 $?
"$attn" eval -m lm.ckpt --threads 1 <lm-valid.txt >by-stdin.txt; check "eval -m < DATA" 0 $?
cmp -s by-option.txt by-position.txt && cmp -s by-option.txt by-stdin.txt \
  || { echo "FAIL: eval -m: --data, the positional DATA and stdin disagree"; fail=1; }
"$attn" eval -m lm.ckpt --data lm-valid.txt lm-valid.txt >/dev/null 2>err.txt; check "--data and a positional DATA" 2 $?
one_line "--data and a positional DATA" err.txt
grep -qx "attn eval: give the data once: --data FILE or a positional FILE, not both" err.txt \
  || { echo "FAIL: --data and a positional DATA: $(cat err.txt)"; fail=1; }
"$attn" eval -m lm.ckpt </dev/null >/dev/null 2>err.txt; check "-m with empty stdin" 1 $?
one_line "-m with empty stdin" err.txt
"$attn" eval -m lm.ckpt --data lm-valid.txt --ref gen.txt >/dev/null 2>err.txt; check "-m with --ref" 2 $?
one_line "-m with --ref" err.txt
"$attn" eval --ref gen.txt --max-len 8 gen.txt >/dev/null 2>err.txt; check "--max-len without -m" 2 $?
one_line "--max-len without -m" err.txt
exit $fail
