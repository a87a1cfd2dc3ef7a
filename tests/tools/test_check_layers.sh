#!/usr/bin/env bash
# tools/check_layers.sh on copies of lib/: passes on the real tree, and fails, naming the file and
# line, on an upward include, a sideways one, a "../" include, a folder without a row, a
# lib/CMakeLists.txt that disagrees with its table, and a table with an upward edge; an include
# allowed only transitively passes.
#   tests/tools/test_check_layers.sh SOURCE_DIR
set -u
src=${1:-"$(dirname "$0")/../.."}
fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say_fail() { echo "FAIL: $*"; fail=1; }

fresh() {  # a copy of lib/ (CMakeLists.txt and sources) and the script, in $tmp/tree
  rm -rf "$tmp/tree"
  mkdir -p "$tmp/tree/tools"
  cp -r "$src/lib" "$tmp/tree/"
  cp "$src/tools/check_layers.sh" "$tmp/tree/tools/"
}
# expect NAME CODE TEXT: the script exits CODE and its output has a line equal to TEXT
expect() {
  bash "$tmp/tree/tools/check_layers.sh" "$tmp/tree" >"$tmp/out" 2>&1
  local got=$?
  [ "$got" = "$2" ] || say_fail "$1: exit $got, expected $2: $(head -c 400 "$tmp/out")"
  grep -qxF -- "$3" "$tmp/out" || say_fail "$1: no line '$3' in: $(head -c 400 "$tmp/out")"
}
add_include() { sed -i "1a #include \"$2\"" "$tmp/tree/$1"; }  # as line 2

fresh
expect "the real tree" 0 "  core    -> -"
grep -qE '^layers: OK \([0-9]+ includes of lib folders in [0-9]+ files\)$' "$tmp/out" ||
  say_fail "the real tree: $(cat "$tmp/out")"
grep -qE '^  models  -> nn +[0-9]+$' "$tmp/out" || say_fail "the real tree: no models -> nn edge: $(cat "$tmp/out")"

fresh; add_include lib/io/atomic_file.h train/optimizer.h
expect "io includes train" 1 "lib/io/atomic_file.h:2: io must not include train"

fresh; add_include lib/text/vocab.h io/atomic_file.h
expect "text includes io (sideways)" 1 "lib/text/vocab.h:2: text must not include io"

fresh; add_include lib/core/tensor.h nn/linear.h
expect "core includes nn" 1 "lib/core/tensor.h:2: core must not include nn"

fresh; add_include lib/data/batching.cpp ../models/model.h
expect "a ../ include" 1 \
  "lib/data/batching.cpp:2: data must not include with \"../\" (name the folder: \"<folder>/<file>.h\")"

fresh; add_include lib/decode/greedy.h nn/linear.h
expect "decode includes nn (through models)" 0 "  decode  -> nn         1 *"

fresh; mkdir "$tmp/tree/lib/extra"; touch "$tmp/tree/lib/extra/x.cpp"
expect "a folder without a row" 1 \
  "lib/extra: not a layer (add it to this script's table and to lib/CMakeLists.txt)"

fresh; sed -i 's/^attn_layer(eval core text)$/attn_layer(eval core io text)/' "$tmp/tree/lib/CMakeLists.txt"
expect "CMake disagrees" 1 \
  "lib/CMakeLists.txt: attn_layer(eval core io text) differs from this script's 'eval: core text'"

fresh; sed -i 's/^  \[text\]="core"$/  [text]="core models"/' "$tmp/tree/tools/check_layers.sh"
sed -i 's/^attn_layer(text core)$/attn_layer(text core models)/' "$tmp/tree/lib/CMakeLists.txt"
expect "a table with an upward edge" 1 "tools/check_layers.sh: text links models, which is not below it in order=(...)"

[ "$fail" = 0 ] && echo "check_layers: all cases pass"
exit "$fail"
