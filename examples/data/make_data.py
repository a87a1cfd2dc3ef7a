#!/usr/bin/env python3
"""Rebuilds the bundled example data from Debian packages (see examples/data/README.md).

  kjv-genesis.txt   Genesis from the King James Bible (package bible-kjv), one verse per line
  en-fr.tsv         English<TAB>French UI strings from the gettext catalogs (.mo) of installed
                    packages, read with msgunfmt (package gettext)
  reverse-*.tsv     digit sequences and their reversal (generated, seeded)
  sentiment-*.tsv   label<TAB>text, a generated labelling task (seeded)
"""
import glob, os, random, re, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))

def kjv(spec, path):
    text = subprocess.run(["bible", "-l", "100000", spec], capture_output=True, text=True, check=True).stdout
    verses = [re.sub(r"^\s*\d+\s+", "", l).strip() for l in text.splitlines() if re.match(r"^\s+\d+\s", l)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(verses) + "\n")
    return len(verses)

def po_pairs(mo):
    # msgconv: some catalogs are Latin-1; everything here is UTF-8.
    raw = subprocess.run(["msgunfmt", mo], capture_output=True).stdout
    po = subprocess.run(["msgconv", "-t", "UTF-8"], input=raw, capture_output=True).stdout.decode("utf-8", "replace")
    pairs, cur, field = [], {}, None
    for line in po.splitlines() + [""]:
        m = re.match(r'^(msgid|msgstr|msgctxt|msgid_plural|msgstr\[\d+\]) "(.*)"$', line)
        if m:
            field = m.group(1); cur[field] = m.group(2); continue
        m = re.match(r'^"(.*)"$', line)
        if m and field:
            cur[field] += m.group(1); continue
        if "msgid" in cur and "msgstr" in cur and "msgid_plural" not in cur:
            pairs.append((cur["msgid"], cur["msgstr"]))
        cur, field = {}, None
    return pairs

def good(s):
    return (3 <= len(s) <= 70 and "\\" not in s and "%" not in s and "_" not in s and "&" not in s
            and "$" not in s and "<" not in s and "{" not in s and re.search(r"[A-Za-zÀ-ÿ]{2}", s) is not None)

def en_fr(path):
    seen, rows = set(), []
    for mo in sorted(glob.glob("/usr/share/locale/fr/LC_MESSAGES/*.mo")):
        if os.path.basename(mo).startswith("iso_"):
            continue  # country/language name lists: not sentences
        for en, fr in po_pairs(mo):
            en, fr = en.strip(), fr.strip()
            if en and fr and en != fr and "\ufffd" not in en + fr and good(en) and good(fr) and en not in seen:
                seen.add(en); rows.append((en, fr))
    with open(path, "w", encoding="utf-8") as f:
        for en, fr in rows:
            f.write(f"{en}\t{fr}\n")
    return len(rows)

def reverse(path, n, seed):
    r = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(n):
            seq = [str(r.randrange(10)) for _ in range(r.randint(5, 12))]
            f.write(" ".join(seq) + "\t" + " ".join(reversed(seq)) + "\n")

def sentiment(path, n, seed):
    # label = whether the sentence has more positive than negative words: attention must find them.
    r = random.Random(seed)
    pos = "good great fine lovely superb happy bright kind".split()
    neg = "bad awful poor dreadful sad dark cruel grim".split()
    filler = "the a film story day plot it was and very quite rather this that".split()
    with open(path, "w") as f:
        for _ in range(n):
            k_pos, k_neg = r.randint(0, 3), r.randint(0, 3)
            while k_pos == k_neg:
                k_neg = r.randint(0, 3)
            words = [r.choice(filler) for _ in range(r.randint(3, 9))]
            words += [r.choice(pos) for _ in range(k_pos)] + [r.choice(neg) for _ in range(k_neg)]
            r.shuffle(words)
            f.write(("positive" if k_pos > k_neg else "negative") + "\t" + " ".join(words) + "\n")

if __name__ == "__main__":
    print("kjv-genesis.txt", kjv("Ge1:1-Ge50:26", os.path.join(here, "kjv-genesis.txt")), file=sys.stderr)
    print("en-fr.tsv", en_fr(os.path.join(here, "en-fr.tsv")), file=sys.stderr)
    reverse(os.path.join(here, "reverse-train.tsv"), 4000, 1)
    reverse(os.path.join(here, "reverse-valid.tsv"), 200, 2)
    sentiment(os.path.join(here, "sentiment-train.tsv"), 3000, 3)
    sentiment(os.path.join(here, "sentiment-valid.tsv"), 200, 4)
