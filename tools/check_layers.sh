#!/usr/bin/env bash
# Checks that every folder under lib/ includes only the folders below it (docs/architecture.md):
#
#   core  <-  text, io, nn  <-  data, eval  <-  models  <-  decode, train  <-  viz
#   core  <-  dist
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
  [dist]="core"
  [viz]="core decode text"
)
order=(core text io nn data eval models decode train dist viz)  # lowest first, for printing

status=0
fail() {
  echo "$*"
  status=1
}

# Every folder under lib/ has a row, and lib/CMakeLists.txt says the same.
for dir in lib/*/; do
  folder=${dir%/}
  folder=${folder##*/}
  [ -n "${links[$folder]+set}" ] ||
    fail "lib/$folder: not a layer (add it to this script's table and to lib/CMakeLists.txt)"
done
# Pure bash below (no process per folder or per line): the check runs in CI before anything else.
same_set() {  # same_set "a b" "b a": the same words, in any order
  local a=" $1 " b=" $2 " w
  for w in $1; do [[ $b == *" $w "* ]] || return 1; done
  for w in $2; do [[ $a == *" $w "* ]] || return 1; done
}
declare -A cmake_links
while IFS= read -r text; do
  [[ $text =~ ^attn_layer\(([a-z_]+)\ *([^\)]*)\) ]] && cmake_links[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done <lib/CMakeLists.txt
for folder in "${order[@]}"; do
  if [ -z "${cmake_links[$folder]+set}" ]; then
    fail "lib/CMakeLists.txt: no attn_layer($folder ...) line"
  elif ! same_set "${cmake_links[$folder]}" "${links[$folder]}"; then
    fail "lib/CMakeLists.txt: attn_layer($folder ${cmake_links[$folder]}) differs from this script's" \
      "'$folder: ${links[$folder]}'"
  fi
done

# allowed[f]: " f <everything below it through links> ", lower folders first (order[] is bottom-up,
# and a folder may link only folders before it, so the table itself has no cycle).
declare -A allowed
for folder in "${order[@]}"; do
  allowed[$folder]=" $folder "
  for dep in ${links[$folder]}; do
    if [ -z "${allowed[$dep]+set}" ] || [ "$dep" = "$folder" ]; then
      fail "tools/check_layers.sh: $folder links $dep, which is not below it in order=(...)"
      continue
    fi
    for next in ${allowed[$dep]:-$dep}; do
      [[ ${allowed[$folder]} == *" $next "* ]] || allowed[$folder]+="$next "
    done
  done
done

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
