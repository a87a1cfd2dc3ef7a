#!/usr/bin/env bash
# Checks that every folder under lib/ includes only the folders below it (docs/architecture.md):
#
#   core  <-  text, io, nn  <-  data, eval  <-  models  <-  decode, train
#
# Reads every `#include "<folder>/..."` under lib/ and prints `file:line: <from> must not include
# <to>` for each one the table below does not allow, then exits 1. On success prints the allowed
# graph and the includes actually found between folders, with counts. Also fails when a lib/
# folder has no row here, when an include climbs out with "../", or when lib/CMakeLists.txt's
# attn_layer() lines (which make the build enforce the same graph) disagree with the table.
#
#   tools/check_layers.sh [SOURCE_DIR]     (default: the checkout this script is in)
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

# The table: folder -> the folders it links (as in lib/CMakeLists.txt). A folder may include its
# own headers, these folders' headers, and theirs in turn (the link is PUBLIC, so transitive).
declare -A links=(
  [core]=""
  [text]="core"
  [io]="core"
  [nn]="core"
  [data]="core text"
  [eval]="core text"
  [models]="core data io nn text"
  [decode]="core models text"
  [train]="core data io models"
)
order=(core text io nn data eval models decode train)  # lowest first, for printing

status=0
fail() {
  echo "$1"
  status=1
}

# Every folder under lib/ has a row, and lib/CMakeLists.txt says the same.
for dir in lib/*/; do
  folder=$(basename "$dir")
  [ -n "${links[$folder]+set}" ] ||
    fail "lib/$folder: not a layer (add it to this script's table and to lib/CMakeLists.txt)"
done
sorted() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort | tr '\n' ' '; }
for folder in "${order[@]}"; do
  line=$(grep -E "^attn_layer\($folder( |\))" lib/CMakeLists.txt || true)
  if [ -z "$line" ]; then
    fail "lib/CMakeLists.txt: no attn_layer($folder ...) line"
    continue
  fi
  cmake_links=$(sed -E 's/^attn_layer\(([a-z_]+) *([^)]*)\).*/\2/' <<<"$line")
  [ "$(sorted "$cmake_links")" = "$(sorted "${links[$folder]}")" ] ||
    fail "lib/CMakeLists.txt: attn_layer($folder $cmake_links) differs from this script's '$folder: ${links[$folder]}'"
done

# allowed[f]: f itself and everything below it through links.
declare -A allowed
closure() {
  local f=$1 out=" $1 " dep next
  for dep in ${links[$f]}; do
    for next in $(closure "$dep"); do
      [[ $out == *" $next "* ]] || out+="$next "
    done
  done
  echo "$out"
}
for folder in "${order[@]}"; do allowed[$folder]=$(closure "$folder"); done

# The includes: file:line:text for every #include "x/..." or <x/...> naming a lib folder.
declare -A edges
includes=0
files=$(find lib -mindepth 2 -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.inl' \) | wc -l)
directive='^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]'
while IFS= read -r hit; do
  [[ $hit =~ ^(lib/([a-z_]+)/[^:]+):([0-9]+):(.*)$ ]] || continue
  file=${BASH_REMATCH[1]} from=${BASH_REMATCH[2]} line=${BASH_REMATCH[3]} text=${BASH_REMATCH[4]}
  [ -n "${allowed[$from]+set}" ] || continue
  if [[ $text =~ ${directive}\.\./ ]]; then
    fail "$file:$line: $from must not include with \"../\" (name the folder: \"<folder>/<file>.h\")"
    continue
  fi
  [[ $text =~ ${directive}([a-z_]+)/ ]] || continue
  to=${BASH_REMATCH[1]}
  [ -d "lib/$to" ] || continue  # <sys/stat.h>, <boost/...>
  includes=$((includes + 1))
  if [[ ${allowed[$from]} != *" $to "* ]]; then
    fail "$file:$line: $from must not include $to"
  elif [ "$to" != "$from" ]; then
    edges["$from $to"]=$((${edges["$from $to"]:-0} + 1))
  fi
done < <(grep -rnE --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.inl' "$directive" lib |
  sort -t: -k1,1 -k2,2n)

if [ "$status" -ne 0 ]; then
  echo "layers: FAILED (the graph and how to change it: docs/architecture.md)"
  exit 1
fi

echo "layers: allowed (each folder links these; what they link is allowed too)"
for folder in "${order[@]}"; do printf '  %-7s -> %s\n' "$folder" "${links[$folder]:--}"; done
echo "layers: includes between folders (from -> to: count; * = allowed through another folder)"
for from in "${order[@]}"; do
  for to in "${order[@]}"; do
    n=${edges["$from $to"]:-}
    [ -n "$n" ] || continue
    mark=""
    [[ " ${links[$from]} " == *" $to "* ]] || mark=" *"
    printf '  %-7s -> %-7s %4d%s\n' "$from" "$to" "$n" "$mark"
  done
done
echo "layers: OK ($includes includes of lib folders in $files files)"
