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

bold= plain=
if [ -t 1 ]; then
  bold=$(tput bold 2>/dev/null || true)
  plain=$(tput sgr0 2>/dev/null || true)
fi
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

section "where the loop was blocked (from $folded and $events)"
"$python" - "$events" "$folded" <<'PY'
import collections, json, sys

def culprit(frames):
    """The innermost frame of the program itself: Python (name (file:line)), else native."""
    user = [f for f in frames if not f.endswith("_[k]")]
    python = [f for f in user if f.endswith(")") and " (" in f]
    return (python or user or frames or ["?"])[-1]

events = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
# Final reports, and the last report of a stall still under way when the
# profile ended ("at_exit"): the same stalls the folded file holds.
stalls = [e for e in events if e.get("event") == "stall"
          and (not e.get("ongoing") or e.get("at_exit"))]
print("%d stalls" % len(stalls))
for s in stalls:
    stacks = s.get("stacks") or [{"frames": [], "weight_us": 0}]
    heaviest = max(stacks, key=lambda st: st["weight_us"])
    print("  %7.1f ms  (on-CPU %5.1f, off-CPU %5.1f)  %s[%d]  in %s%s" % (
        s["duration_ms"], s["on_cpu_ms"], s["off_cpu_ms"], s["thread"], s["tid"],
        culprit(heaviest["frames"]), "  (still blocked at the end)" if s.get("at_exit") else ""))

by_culprit = collections.Counter()
for line in open(sys.argv[2]):
    if line.strip():
        frames, weight = line.rstrip("\n").rsplit(" ", 1)
        by_culprit[culprit(frames.split(";"))] += int(weight)
total = sum(by_culprit.values()) or 1
print("\nblocked time by culprit (folded stacks, innermost frame of the program):")
for where, us in by_culprit.most_common(6):
    print("  %7.1f ms  %4.0f%%  %s" % (us / 1000.0, 100.0 * us / total, where))
PY

echo
echo "Full outputs: $folded (flamegraph.pl / speedscope input), $events"
