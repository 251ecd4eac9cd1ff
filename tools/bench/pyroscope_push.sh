#!/usr/bin/env bash
# What `loopprof agent --pyroscope` costs (not a test): the agent watching an
# asyncio fixture that stalls about twice a second (a 150 ms CPU burn every
# ~0.5 s), for DURATION seconds, without and with pushes to a stand-in
# ingest server (tests/fixtures/ingest_server.py) every INTERVAL seconds.
# Per run: the agent's CPU seconds over the timed part (from its /metrics),
# stalls counted; with pushes: pushes, mean bytes per push, mean push time,
# failures, and the sizes of the bodies the server saved.
#
#   sudo tools/bench/pyroscope_push.sh BUILD_DIR   (knobs: DURATION=30 INTERVAL=1 PAIRS=2)
set -u -o pipefail
die() { echo "pyroscope_push.sh: $*" >&2; exit 1; }
[[ $# -ge 1 ]] || die "usage: $0 BUILD_DIR"
BUILD_DIR=$(realpath "$1")
SRC_DIR=$(realpath "$(dirname "$0")/../..")
LOOPPROF=${LOOPPROF:-$BUILD_DIR/loopprof}
DURATION=${DURATION:-30}
INTERVAL=${INTERVAL:-1}
PAIRS=${PAIRS:-2}
[[ $(id -u) -eq 0 ]] || die "needs root"
[[ -x $LOOPPROF ]] || die "no $LOOPPROF (make build)"
WORK=$(mktemp -d /tmp/loopprof-pyroscope-bench.XXXXXX)
# shellcheck source=cleanup.sh
source "$(dirname "$0")/cleanup.sh"

wait_for() {  # FILE PATTERN: the first match, within 20 s
  local i
  for ((i = 0; i < 200; i++)); do
    grep -m1 -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
metric() {  # PORT NAME: the sum of the samples of NAME
  curl -s "http://127.0.0.1:$1/metrics" |
    awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%.6f", s}'
}

python3 "$SRC_DIR/tests/fixtures/ingest_server.py" "$WORK/ingest" >"$WORK/ingest.out" 2>&1 &
KIDS+=($!)
disown $!
INGEST_PORT=$(wait_for "$WORK/ingest.out" listening | awk '{print $2}') || die "no ingest server"

run() {  # NAME [AGENT ARGS...]: one timed run; prints one table row
  local name=$1
  shift
  local steps=() i
  for ((i = 0; i < DURATION * 2 + 20; i++)); do steps+=(cpu:150); done
  mkfifo "$WORK/app.in"
  python3 "$SRC_DIR/tests/fixtures/stall_app.py" --gap 350 "${steps[@]}" <"$WORK/app.in" \
    >"$WORK/app.out" 2>&1 &
  local app=$!
  KIDS+=($app)
  exec 7>"$WORK/app.in"
  wait_for "$WORK/app.out" ready >/dev/null || die "fixture did not start"
  "$LOOPPROF" agent --listen 127.0.0.1:0 --no-log -p "$app" "$@" >/dev/null 2>"$WORK/agent.err" &
  local agent=$!
  KIDS+=($agent)
  local port
  port=$(wait_for "$WORK/agent.err" /metrics | sed -E 's/.*127\.0\.0\.1:([0-9]+)\/metrics.*/\1/') ||
    die "agent did not start: $(cat "$WORK/agent.err")"
  echo go >&7
  sleep 2  # the first stalls, the agent's start-up work settled
  local cpu0 stalls0 pushes0 bytes0 seconds0
  cpu0=$(metric "$port" loopprof_agent_cpu_seconds_total)
  stalls0=$(metric "$port" loopprof_stalls_total)
  pushes0=$(metric "$port" loopprof_agent_pyroscope_pushes_total)
  bytes0=$(metric "$port" loopprof_agent_pyroscope_pushed_bytes_total)
  seconds0=$(metric "$port" loopprof_agent_pyroscope_push_seconds_total)
  sleep "$DURATION"
  local cpu stalls pushes bytes seconds failures
  cpu=$(metric "$port" loopprof_agent_cpu_seconds_total)
  stalls=$(metric "$port" loopprof_stalls_total)
  pushes=$(metric "$port" loopprof_agent_pyroscope_pushes_total)
  bytes=$(metric "$port" loopprof_agent_pyroscope_pushed_bytes_total)
  seconds=$(metric "$port" loopprof_agent_pyroscope_push_seconds_total)
  failures=$(metric "$port" loopprof_agent_pyroscope_push_failures_total)
  kill -TERM "$agent"
  wait "$agent" 2>/dev/null
  kill -KILL "$app" 2>/dev/null
  wait "$app" 2>/dev/null
  exec 7>&-
  rm -f "$WORK/app.in"
  awk -v name="$name" -v d="$DURATION" -v c0="$cpu0" -v c="$cpu" -v s0="$stalls0" -v s="$stalls" \
    -v p0="$pushes0" -v p="$pushes" -v b0="$bytes0" -v b="$bytes" -v t0="$seconds0" -v t="$seconds" \
    -v f="$failures" 'BEGIN {
      n = p - p0
      printf "| %s | %.2f%% | %d | %s | %s | %s | %s |\n", name, 100 * (c - c0) / d, s - s0,
        (n > 0 ? n : "-"), (n > 0 ? sprintf("%.0f", (b - b0) / n) : "-"),
        (n > 0 ? sprintf("%.2f", 1000 * (t - t0) / n) : "-"), (name == "off" ? "-" : sprintf("%d", f))
    }'
}

echo "agent CPU over ${DURATION} s, stalls ~2/s, pushes every ${INTERVAL} s"
echo
echo "| run | agent CPU (% of one CPU) | stalls | pushes | bytes/push | ms/push | push failures |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for ((pair = 0; pair < PAIRS; pair++)); do
  if ((pair % 2 == 0)); then
    run off
    run pyroscope --pyroscope "http://127.0.0.1:$INGEST_PORT" --pyroscope-interval "$INTERVAL"
  else
    run pyroscope --pyroscope "http://127.0.0.1:$INGEST_PORT" --pyroscope-interval "$INTERVAL"
    run off
  fi
done
echo
sizes=$(stat -c %s "$WORK"/ingest/*.body 2>/dev/null | sort -n)
if [[ -n $sizes ]]; then
  echo "bodies the server saved: $(wc -l <<<"$sizes"), bytes min $(head -1 <<<"$sizes")," \
    "median $(sed -n "$(( ($(wc -l <<<"$sizes") + 1) / 2 ))p" <<<"$sizes"), max $(tail -1 <<<"$sizes")"
fi
