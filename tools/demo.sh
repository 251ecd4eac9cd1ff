#!/usr/bin/env bash
# loopprof demo: profile tools/demo/app.py (an asyncio service that blocks its
# event loop in three classic ways) for a few seconds and show what loopprof saw.
#   tools/demo.sh [BUILD_DIR]      (make demo does the build first)
# Environment: DEMO_SECONDS (default 6), DEMO_PYTHON (default /usr/bin/python3, else python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=$(cd "${1:-build}" 2>/dev/null && pwd) || {
  echo "demo: build directory '${1:-build}' not found; run 'make build' first" >&2
  exit 1
}
loopprof=$build_dir/loopprof
seconds=${DEMO_SECONDS:-6}
folded=$build_dir/demo.folded
events=$build_dir/demo.jsonl

if [ ! -x "$loopprof" ]; then
  echo "demo: $loopprof not found; run 'make build' first" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: loopprof loads eBPF programs and needs root: run 'sudo make demo'" >&2
  echo "      (or 'sudo $0 ${1:-build}')" >&2
  exit 1
fi
python=${DEMO_PYTHON:-}
if [ -z "$python" ]; then
  if [ -x /usr/bin/python3 ]; then python=/usr/bin/python3; else python=$(command -v python3 || true); fi
fi
if [ -z "$python" ] || ! "$python" -c 'import asyncio' 2>/dev/null; then
  echo "demo: no usable python3 found (set DEMO_PYTHON)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/loopprof-demo.XXXXXX)
app_pid=
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The app runs a little longer than the profile, so loopprof ends by -d.
"$python" "$here/demo/app.py" --seconds $((seconds + 30)) >"$work/app.out" 2>"$work/app.err" &
app_pid=$!
for _ in $(seq 100); do
  grep -q '^ready ' "$work/app.out" 2>/dev/null && break
  kill -0 "$app_pid" 2>/dev/null || { echo "demo: the app died:" >&2; cat "$work/app.err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready ' "$work/app.out" || { echo "demo: the app did not start" >&2; exit 1; }

bold=$(tput bold 2>/dev/null || true)
plain=$(tput sgr0 2>/dev/null || true)
section() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$plain"; }

section "profiling demo app (pid $app_pid, $($python -V 2>&1)) for ${seconds}s"
echo "\$ $loopprof -p $app_pid -d $seconds -o $folded --events $events"
rm -f "$folded" "$events"
status=0
"$loopprof" -p "$app_pid" -d "$seconds" -o "$folded" --events "$events" || status=$?
if [ "$status" -ne 0 ]; then
  echo "demo: loopprof failed (exit $status)" >&2
  exit "$status"
fi

section "stalls (from $events)"
"$python" - "$events" <<'PY'
import json, sys
stalls = [e for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "stall" and not e.get("ongoing")]
if not stalls:
    print("no stalls recorded")
for s in stalls:
    heaviest = max(s.get("stacks") or [{"frames": ["?"], "weight_us": 0}], key=lambda st: st["weight_us"])
    where = " <- ".join(reversed(heaviest["frames"][-4:]))
    print("%8.1f ms  on-cpu %6.1f  off-cpu %6.1f  %s[%d]  %s" % (
        s["duration_ms"], s["on_cpu_ms"], s["off_cpu_ms"], s["thread"], s["tid"], where))
PY

section "top stacks (from $folded; weight in us, leaf last)"
if [ -s "$folded" ]; then
  awk '{ print $NF "\t" $0 }' "$folded" | sort -rn | head -5 | cut -f2- |
    awk '{ w = $NF; $NF = ""; n = split($0, f, ";"); s = f[n];
           for (i = n - 1; i >= 1 && i > n - 6; i--) s = f[i] ";" s;
           if (n > 6) s = "...;" s; printf "%10d  %s\n", w, s }'
else
  echo "(empty)"
fi
echo
echo "Full outputs: $folded (flamegraph.pl / speedscope input), $events"
