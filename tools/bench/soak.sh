#!/bin/bash
# Soak: loopprof watching a target that churns short threads and stalls now
# and then, for SECONDS (default 600); samples loopprof's RSS every few seconds
# and prints the curve and its slope. Needs root. Not part of `make test`.
#
#   sudo tools/bench/soak.sh [SECONDS] [BUILD_DIR]
set -euo pipefail

seconds=${1:-600}
build=${2:-build}
here=$(cd "$(dirname "$0")" && pwd)
loopprof="$build/loopprof"
[ -x "$loopprof" ] || { echo "soak: no $loopprof (make build first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "soak: needs root" >&2; exit 1; }
interval=$(( seconds >= 120 ? 10 : 2 ))

out=$(mktemp -d /tmp/loopprof-soak.XXXXXX)
cleanup() {
  [ -n "${lp_pid:-}" ] && kill -INT "$lp_pid" 2>/dev/null || true
  [ -n "${target_pid:-}" ] && kill "$target_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

/usr/bin/python3 "$here/soak_target.py" >"$out/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 50); do grep -q ready "$out/target.log" && break; sleep 0.1; done
"$loopprof" -p "$target_pid" -t 100 --events "$out/events.jsonl" -o "$out/stalls.folded" \
  >"$out/loopprof.out" 2>"$out/loopprof.err" &
lp_pid=$!
for _ in $(seq 100); do grep -q attached "$out/loopprof.err" && break; sleep 0.1; done
grep -q attached "$out/loopprof.err" || { cat "$out/loopprof.err" >&2; exit 1; }

# VmRSS, and its anonymous (heap) and file-backed (mapped ELF/DWARF) parts, in kB.
rss() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s ", $2}' "/proc/$1/status" 2>/dev/null || echo "0 0 0"; }
echo "soak: loopprof PID $lp_pid watching PID $target_pid for $seconds s; RSS every $interval s"
echo "| t (s) | loopprof RSS (kB) | anon (kB) | file (kB) | loopprof CPU (s) | target threads started |"
echo "|---:|---:|---:|---:|---:|---:|"
start=$(date +%s)
: >"$out/rss.tsv"
while :; do
  now=$(( $(date +%s) - start ))
  read -r r anon file <<<"$(rss "$lp_pid")"
  cpu=$(awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$lp_pid/stat")
  started=$(awk '/^threads/ {n = $2} END {print n + 0}' "$out/target.log")
  echo "| $now | $r | $anon | $file | $cpu | ${started:-0} |"
  echo "$now $r $anon" >>"$out/rss.tsv"
  [ "$now" -ge "$seconds" ] && break
  sleep "$interval"
done

kill -INT "$lp_pid"
wait "$lp_pid" || echo "soak: loopprof exited with $?"
lp_pid=
# Least-squares slope of RSS over the second half of the run (the first half
# holds warm-up: symbol tables, unwinder, caches).
awk -v half=$(( seconds / 2 )) '
  { t[NR] = $1; r[NR] = $2; a[NR] = $3 }
  END {
    n = 0; sx = sy = sxx = sxy = say = saxy = 0
    for (i = 1; i <= NR; i++) if (t[i] >= half) { n++; sx += t[i]; sy += r[i]; sxx += t[i]*t[i]; sxy += t[i]*r[i]; say += a[i]; saxy += t[i]*a[i] }
    slope = n > 1 ? (n*sxy - sx*sy) / (n*sxx - sx*sx) : 0
    aslope = n > 1 ? (n*saxy - sx*say) / (n*sxx - sx*sx) : 0
    min = max = r[1]; for (i = 1; i <= NR; i++) { if (r[i] < min) min = r[i]; if (r[i] > max) max = r[i] }
    printf "soak: RSS first %d kB, last %d kB, min %d, max %d; slope over the second half %.1f kB/min (anonymous part %.1f kB/min; anon first %d, last %d kB)\n", r[1], r[NR], min, max, slope * 60, aslope * 60, a[1], a[NR]
  }' "$out/rss.tsv"
python3 - "$out/events.jsonl" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
print("soak: summary: stalls %d, loop rows %d (+%d not shown), thread rows %d (+%d not shown), "
      "threads exited %d, dropped %s, map_full %s" % (
          s["stalls"], len(s["loops"]), s["loops_not_shown"], len(s["threads"]),
          s["threads_not_shown"], s["threads_exited"],
          {k: v for k, v in s["dropped"].items() if v}, s["map_full"]))
PY
echo "soak: outputs in $out"
