#!/usr/bin/env bash
# attn vocab -> attn tokenize -> attn tokenize --decode with the real binary, on files and pipes:
# byte-exact round trips (NUL, \r, invalid UTF-8, emoji, CJK, no final newline, random bytes),
# --column on a parallel TSV, determinism, and the error paths (exit codes, one-line messages).
set -u
attn=$1
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say_fail() { echo "FAIL: $*"; fail=1; }
same() {  # same NAME FILE1 FILE2
  cmp -s "$2" "$3" || say_fail "$1: $(cmp "$2" "$3" 2>&1 | head -1)"
}
# expect_error NAME CODE PREFIX CMD...: exit code CODE, stderr exactly one line starting with PREFIX
expect_error() {
  local name=$1 code=$2 prefix=$3; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  [ "$got" = "$code" ] || say_fail "$name: exit $got, expected $code (stderr: $(head -c 300 "$tmp/err"))"
  [ "$(wc -l <"$tmp/err")" = 1 ] || say_fail "$name: stderr has $(wc -l <"$tmp/err") lines: $(head -c 300 "$tmp/err")"
  case "$(head -1 "$tmp/err")" in
    "$prefix"*) ;;
    *) say_fail "$name: stderr '$(head -1 "$tmp/err")' does not start with '$prefix'" ;;
  esac
}

# A corpus with every awkward thing, ending without a newline.
{
  printf 'The quick brown fox jumps over the lazy dog.\n'
  printf '  leading spaces, trailing spaces   \n'
  printf 'tabs\tinside\t\tand at the end\t\n'
  printf 'windows line\r\n'
  printf 'nul \000 byte and \377\376 invalid utf-8 \303 truncated\n'
  printf 'emoji \360\237\230\200\360\237\221\215\360\237\217\275 and CJK \346\227\245\346\234\254\350\252\236\n'
  printf '\n'
  printf 'French: l\303\251t\303\251, \303\247a va\302\240! \342\226\201 literal mark\n'
  printf '<unk> <pad> typed by hand'
} >"$tmp/edge.txt"
for i in $(seq 1 40); do cat "$tmp/edge.txt"; echo; done >"$tmp/corpus.txt"
cat "$tmp/edge.txt" >>"$tmp/corpus.txt"  # the corpus ends without a newline too

for kind in char word bpe; do
  "$attn" vocab --type "$kind" --size 400 -o "$tmp/$kind.vocab" "$tmp/corpus.txt" 2>"$tmp/err" \
    || say_fail "vocab --type $kind: $(cat "$tmp/err")"
  head -1 "$tmp/$kind.vocab" | grep -q "^attn-vocab 1 $kind " || say_fail "$kind: header is '$(head -1 "$tmp/$kind.vocab")'"
  for fmt in --ids --pieces; do
    # files
    "$attn" tokenize -v "$tmp/$kind.vocab" $fmt -o "$tmp/enc" "$tmp/edge.txt" || say_fail "$kind $fmt: tokenize failed"
    "$attn" tokenize -v "$tmp/$kind.vocab" $fmt --decode -o "$tmp/dec" "$tmp/enc" || say_fail "$kind $fmt: decode failed"
    same "$kind $fmt file round trip" "$tmp/edge.txt" "$tmp/dec"
    [ "$(wc -l <"$tmp/enc")" = "$(wc -l <"$tmp/edge.txt")" ] || say_fail "$kind $fmt: line count changed"
    # pipes
    "$attn" tokenize -v "$tmp/$kind.vocab" $fmt <"$tmp/corpus.txt" | "$attn" tokenize -v "$tmp/$kind.vocab" $fmt --decode >"$tmp/dec"
    same "$kind $fmt pipe round trip" "$tmp/corpus.txt" "$tmp/dec"
  done
  # nothing unknown in the training text itself
  "$attn" tokenize -v "$tmp/$kind.vocab" --pieces <"$tmp/corpus.txt" | grep -q '<unk>' && say_fail "$kind: <unk> in training text"
done

# Pieces look like pieces: spaces shown as ▁, tabs escaped.
printf 'tabs quick\tinside' | "$attn" tokenize -v "$tmp/word.vocab" --pieces >"$tmp/p"
[ "$(cat "$tmp/p")" = 'tabs ▁quick \t inside' ] || say_fail "word pieces: '$(cat "$tmp/p")'"
printf 'The quick' | "$attn" tokenize -v "$tmp/word.vocab" --ids >"$tmp/p"
grep -Eq '^[0-9]+ [0-9]+$' "$tmp/p" || say_fail "ids format: '$(cat "$tmp/p")'"

# Byte-level BPE: random binary data round-trips, whether or not it ends in a newline.
head -c 200000 /dev/urandom >"$tmp/random.bin"
"$attn" tokenize -v "$tmp/bpe.vocab" <"$tmp/random.bin" | "$attn" tokenize -v "$tmp/bpe.vocab" -d >"$tmp/dec"
same "bpe random bytes" "$tmp/random.bin" "$tmp/dec"
printf '\n' >>"$tmp/random.bin"
"$attn" tokenize -v "$tmp/bpe.vocab" <"$tmp/random.bin" | "$attn" tokenize -v "$tmp/bpe.vocab" -d >"$tmp/dec"
same "bpe random bytes + newline" "$tmp/random.bin" "$tmp/dec"
"$attn" tokenize -v "$tmp/bpe.vocab" --pieces <"$tmp/random.bin" | grep -q '<unk>' && say_fail "bpe produced <unk>"
# Empty input stays empty.
"$attn" tokenize -v "$tmp/bpe.vocab" </dev/null >"$tmp/enc"; [ -s "$tmp/enc" ] && say_fail "empty input gave output"

# The word vocabulary marks unknown words but keeps the spacing around them.
printf 'The zebra  jumps' | "$attn" tokenize -v "$tmp/word.vocab" | "$attn" tokenize -v "$tmp/word.vocab" -d >"$tmp/dec"
[ "$(cat "$tmp/dec")" = 'The <unk>  jumps' ] || say_fail "word unk decode: '$(cat "$tmp/dec")'"

# stdin as corpus ('-' and default), determinism.
"$attn" vocab --type bpe --size 400 -o "$tmp/bpe2.vocab" - <"$tmp/corpus.txt" || say_fail "vocab from '-'"
cat "$tmp/corpus.txt" | "$attn" vocab --type bpe --size 400 -o "$tmp/bpe3.vocab" || say_fail "vocab from a pipe"
same "bpe vocabulary from stdin" "$tmp/bpe.vocab" "$tmp/bpe2.vocab"
same "bpe vocabulary from a pipe" "$tmp/bpe.vocab" "$tmp/bpe3.vocab"
"$attn" vocab --type bpe --size 400 -o - "$tmp/corpus.txt" >"$tmp/bpe4.vocab" || say_fail "vocab -o -"
same "bpe vocabulary on stdout" "$tmp/bpe.vocab" "$tmp/bpe4.vocab"
head -5 "$tmp/corpus.txt" >"$tmp/part1.txt"; tail -n +6 "$tmp/corpus.txt" >"$tmp/part2.txt"
# Fewer tokens than --size: one note on stderr however short the run (the summary line only
# follows a progress line, after a second), none with -q.
"$attn" vocab --type bpe --size 100000 -o "$tmp/short.vocab" "$tmp/part1.txt" 2>"$tmp/err" || say_fail "vocab --size 100000"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^attn vocab: [0-9]* tokens, fewer than --size 100000: the data holds no more merges$" "$tmp/err" \
  || say_fail "vocab short of --size: '$(cat "$tmp/err")'"
"$attn" vocab --type bpe --size 100000 -q -o "$tmp/short.vocab" "$tmp/part1.txt" 2>"$tmp/err" || say_fail "vocab -q"
[ -s "$tmp/err" ] && say_fail "vocab -q short of --size: '$(cat "$tmp/err")'"
# --input given twice reads both files (the last-value rule of scalar options once kept only the
# second): the same vocabulary as from the two files given positionally.
"$attn" vocab --type bpe --size 400 -o "$tmp/bpe5.vocab" --input "$tmp/part1.txt" --input "$tmp/part2.txt" -q \
  || say_fail "vocab --input A --input B"
"$attn" vocab --type bpe --size 400 -o "$tmp/bpe6.vocab" "$tmp/part1.txt" "$tmp/part2.txt" -q || say_fail "vocab A B"
same "vocab --input A --input B against vocab A B" "$tmp/bpe6.vocab" "$tmp/bpe5.vocab"

# Special tokens are never split.
printf 'hello <sep> world\n' >"$tmp/sep.txt"
"$attn" vocab --type bpe --size 300 --special '<sep>' -o "$tmp/sep.vocab" "$tmp/sep.txt" || say_fail "vocab --special"
[ "$(printf 'a<sep>b' | "$attn" tokenize -v "$tmp/sep.vocab" --pieces)" = 'a <sep> b' ] || say_fail "special token split"

# --column on a parallel corpus (1-based like cut), 'all' for both sides.
printf 'the house\tla maison\nthe cat\tle chat\n' >"$tmp/pairs.tsv"
"$attn" vocab --type word --size 100 --column 2 -o "$tmp/fr.vocab" "$tmp/pairs.tsv" || say_fail "vocab --column 2"
grep -qP '\t▁maison\t' "$tmp/fr.vocab" || say_fail "--column 2 lacks ▁maison"
grep -qP '\t▁house\t' "$tmp/fr.vocab" && say_fail "--column 2 has English words"
"$attn" vocab --type word --size 100 --column all -o "$tmp/both.vocab" "$tmp/pairs.tsv" || say_fail "vocab --column all"
grep -qP '\t▁house\t' "$tmp/both.vocab" && grep -qP '\t▁maison\t' "$tmp/both.vocab" || say_fail "--column all lacks a side"
grep -qP '\t\\t\t' "$tmp/both.vocab" && say_fail "--column all counted the tab"

# --lowercase is recorded and applied when tokenizing.
"$attn" vocab --type word --size 100 --lowercase -o "$tmp/lc.vocab" "$tmp/pairs.tsv" || say_fail "vocab --lowercase"
[ "$(printf 'THE House' | "$attn" tokenize -v "$tmp/lc.vocab" --pieces)" = 'the ▁house' ] || say_fail "lowercase not applied"

# Errors: one line on stderr, 'attn <cmd>: ...', exit 2 for usage and 1 for runtime failures.
v="$tmp/bpe.vocab"
expect_error "vocab unknown option" 2 "attn vocab: " "$attn" vocab --type bpe --size 300 --bogus -o "$tmp/x" "$tmp/corpus.txt"
expect_error "vocab missing --type" 2 "attn vocab: " "$attn" vocab --size 300 -o "$tmp/x" "$tmp/corpus.txt"
expect_error "vocab bad --type" 2 "attn vocab: --type must be char, word or bpe" "$attn" vocab --type unigram --size 300 -o "$tmp/x" "$tmp/corpus.txt"
expect_error "vocab --size too small" 2 "attn vocab: --size 100 is too small" "$attn" vocab --type bpe --size 100 -o "$tmp/x" "$tmp/corpus.txt"
expect_error "vocab bad --size" 2 "attn vocab: " "$attn" vocab --type bpe --size lots -o "$tmp/x" "$tmp/corpus.txt"
expect_error "vocab bad --column" 2 "attn vocab: --column" "$attn" vocab --type word --size 30 --column 0 -o "$tmp/x" "$tmp/pairs.tsv"
expect_error "vocab missing file" 1 "attn vocab: cannot open '$tmp/nope.txt'" "$attn" vocab --type bpe --size 300 -o "$tmp/x" "$tmp/nope.txt"
expect_error "vocab directory input" 1 "attn vocab: cannot read '$tmp'" "$attn" vocab --type bpe --size 300 -o "$tmp/x" "$tmp"
expect_error "vocab missing column" 1 "attn vocab: '$tmp/corpus.txt' line 1 has 1 tab-separated field" "$attn" vocab --type word --size 30 --column 2 -o "$tmp/x" "$tmp/corpus.txt"
expect_error "vocab unwritable output" 1 "attn vocab: cannot write '$tmp/no/dir/v'" "$attn" vocab --type word --size 30 -o "$tmp/no/dir/v" "$tmp/pairs.tsv"
[ -e "$tmp/x" ] && say_fail "a failed vocab run left an output file"

expect_error "tokenize unknown option" 2 "attn tokenize: " "$attn" tokenize -v "$v" --bogus
expect_error "tokenize missing -v" 2 "attn tokenize: " "$attn" tokenize "$tmp/corpus.txt"
expect_error "tokenize --ids --pieces" 2 "attn tokenize: --ids and --pieces" "$attn" tokenize -v "$v" --ids --pieces "$tmp/corpus.txt"
expect_error "tokenize two inputs" 2 "attn tokenize: " "$attn" tokenize -v "$v" "$tmp/corpus.txt" "$tmp/corpus.txt"
expect_error "tokenize missing vocab" 1 "attn tokenize: cannot open vocabulary '$tmp/nope.vocab'" "$attn" tokenize -v "$tmp/nope.vocab" "$tmp/corpus.txt"
expect_error "tokenize missing input" 1 "attn tokenize: cannot open '$tmp/nope.txt'" "$attn" tokenize -v "$v" "$tmp/nope.txt"
expect_error "tokenize directory input" 1 "attn tokenize: cannot read '$tmp'" "$attn" tokenize -v "$v" "$tmp"
expect_error "tokenize text as vocab" 1 "attn tokenize: '$tmp/corpus.txt' line 1: not an attn vocabulary" "$attn" tokenize -v "$tmp/corpus.txt" "$tmp/corpus.txt"
sed '5s/^2\t/9\t/' "$v" >"$tmp/corrupt.vocab"
expect_error "tokenize corrupt vocab" 1 "attn tokenize: '$tmp/corrupt.vocab' line 5: expected token id 2, found '9'" "$attn" tokenize -v "$tmp/corrupt.vocab" "$tmp/corpus.txt"
head -100 "$v" >"$tmp/short.vocab"
expect_error "tokenize truncated vocab" 1 "attn tokenize: '$tmp/short.vocab' ends after 98 of the 400 tokens" "$attn" tokenize -v "$tmp/short.vocab" "$tmp/corpus.txt"
printf '5 6\n7 banana\n' >"$tmp/bad.ids"
expect_error "decode bad id" 1 "attn tokenize: '$tmp/bad.ids' line 2: 'banana' is not a token id" "$attn" tokenize -v "$v" -d "$tmp/bad.ids"
printf '5 6\n7 400\n' >"$tmp/bad.ids"
expect_error "decode id out of range" 1 "attn tokenize: '$tmp/bad.ids' line 2: token id 400 is outside the vocabulary" "$attn" tokenize -v "$v" -d "$tmp/bad.ids"
if [ -w /dev/full ]; then
  # the wording of a write error is the system's and the command's to choose: one line naming the output
  expect_error "tokenize disk full" 1 "attn tokenize: " "$attn" tokenize -v "$v" -o /dev/full "$tmp/corpus.txt"
  grep -q "/dev/full" "$tmp/err" || say_fail "tokenize disk full: the message does not name the output: $(cat "$tmp/err")"
fi
exit $fail
