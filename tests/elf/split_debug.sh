#!/bin/sh
# split_debug.sh IN OUT DEBUG_ROOT [debuglink]
# Writes OUT = IN stripped of symbols and DWARF, and IN's debug info either
# to DEBUG_ROOT/.build-id/xx/yyyy.debug (found by build ID) or, with the
# "debuglink" argument, to DEBUG_ROOT/<name of OUT>.debug referenced by a
# .gnu_debuglink section in OUT.
set -eu
in=$1 out=$2 root=$3 mode=${4:-build-id}
id=$(readelf -n "$in" | awk '/Build ID:/ { print $3 }')
[ -n "$id" ] || { echo "split_debug.sh: $in has no build ID" >&2; exit 1; }
mkdir -p "$root"
if [ "$mode" = debuglink ]; then
  debug="$root/$(basename "$out").debug"
  objcopy --only-keep-debug "$in" "$debug"
  objcopy --strip-all --add-gnu-debuglink="$debug" "$in" "$out"
else
  dir="$root/.build-id/$(echo "$id" | cut -c1-2)"
  mkdir -p "$dir"
  objcopy --only-keep-debug "$in" "$dir/$(echo "$id" | cut -c3-).debug"
  objcopy --strip-all "$in" "$out"
fi
