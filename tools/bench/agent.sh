#!/usr/bin/env bash
# Agent cost benchmark (not a test): an aiohttp server under wrk, alone, with
# `loopprof agent` watching it plus IDLE_LOOPS idle asyncio loops, and with
# `loopprof -p` on it alone. Per case: req/s, loopprof's CPU (% of one CPU),
# the server's involuntary context switches (all threads, from
# /proc/PID/status) during the wrk run; then the agent's RSS with RSS_LOOPS
# watched processes, and the per-program BPF cost (kernel.bpf_stats_enabled).
#
#   sudo tools/bench/agent.sh BUILD_DIR     (knobs: PAIRS=3 WRK_DURATION=5s
#   IDLE_LOOPS=20 RSS_LOOPS=50 BENCH_PORT=18766 THRESHOLD_MS=100)
set -u -o pipefail
die() { echo "agent.sh: $*" >&2; exit 1; }
[[ $# -ge 1 ]] || die "usage: $0 BUILD_DIR"
BUILD_DIR=$(realpath "$1")
SRC_DIR=$(dirname "$(realpath "$0")")
LOOPPROF=${LOOPPROF:-$BUILD_DIR/loopprof}
PYTHON=/usr/bin/python3
PAIRS=${PAIRS:-3}
WRK_DURATION=${WRK_DURATION:-5s}
IDLE_LOOPS=${IDLE_LOOPS:-20}
RSS_LOOPS=${RSS_LOOPS:-50}
BENCH_PORT=${BENCH_PORT:-18766}
METRICS_PORT=${METRICS_PORT:-19464}
THRESHOLD_MS=${THRESHOLD_MS:-100}
[[ $(id -u) -eq 0 ]] || die "needs root"
command -v wrk >/dev/null || die "needs wrk"
WORK=$(mktemp -d /tmp/loopprof-agent-bench.XXXXXX)
IDLE_SCRIPT=$WORK/idle_loop_bench.py
cat >"$IDLE_SCRIPT" <<'PY'
import asyncio
async def main():
    while True:
        await asyncio.sleep(0.1)   # an idle service: 10 loop iterations a second
asyncio.run(main())
PY
# shellcheck source=cleanup.sh
source "$(dirname "$0")/cleanup.sh"

proc_cpu_ns() {
  local f v total=0
  for f in /proc/"$1"/task/*/schedstat; do { read -r v _ <"$f"; } 2>/dev/null && total=$((total + v)); done
  echo "$total"
}
# Involuntary context switches of all threads of PID.
preemptions() {
  local f n total=0
  for f in /proc/"$1"/task/*/status; do
    n=$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$f" 2>/dev/null) && total=$((total + ${n:-0}))
  done
  echo "$total"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do (exec 4<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# Waits until the agent reports N watched processes.
wait_watched() {
  local n=$1 i v
  for ((i = 0; i < 200; i++)); do
    v=$(python3 - "$METRICS_PORT" <<'PY' 2>/dev/null
import sys, urllib.request
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=2).read().decode()
print(next(int(float(l.split()[1])) for l in text.splitlines() if l.startswith("loopprof_agent_watched_processes ")))
PY
)
    [[ -n $v && $v -ge $n ]] && return 0
    sleep 0.1
  done
  return 1
}
settle() { # until PID uses < 10% CPU over 0.5 s
  local i c0 c1
  for ((i = 0; i < 30; i++)); do
    c0=$(proc_cpu_ns "$1"); sleep 0.5; c1=$(proc_cpu_ns "$1")
    ((c1 - c0 < 50000000)) && return 0
  done
}

start_idle_loops() { # N: appends pids to IDLE_PIDS
  local i
  for ((i = 0; i < $1; i++)); do
    "$PYTHON" "$IDLE_SCRIPT" &
    IDLE_PIDS+=($!)
    KIDS+=($!)
  done
}

"$PYTHON" "$SRC_DIR/aiohttp_server.py" "$BENCH_PORT" >/dev/null 2>&1 &
SERVER=$!
KIDS+=("$SERVER")
wait_port "$BENCH_PORT" || die "aiohttp server did not listen"
IDLE_PIDS=()
start_idle_loops "$IDLE_LOOPS"
sleep 1

# run_case KIND: sets REQ CPU PRE. KIND: none | agent | pid
run_case() {
  local kind=$1 prof="" c0 t0 x0 out
  case $kind in
    agent)
      "$LOOPPROF" agent --listen "127.0.0.1:$METRICS_PORT" -t "$THRESHOLD_MS" --no-log \
        --match "aiohttp_server.py|idle_loop_bench.py" >"$WORK/agent.log" 2>&1 &
      prof=$!
      wait_watched $((IDLE_LOOPS + 1)) || echo "agent.sh: agent did not watch all loops" >&2
      ;;
    pid)
      "$LOOPPROF" -p "$SERVER" -t "$THRESHOLD_MS" >"$WORK/pid.log" 2>&1 &
      prof=$!
      sleep 1
      ;;
  esac
  [[ -n $prof ]] && { KIDS+=("$prof"); settle "$prof"; c0=$(proc_cpu_ns "$prof"); }
  t0=$(date +%s%N)
  x0=$(preemptions "$SERVER")
  out=$(wrk -t1 -c10 -d"$WRK_DURATION" "http://127.0.0.1:$BENCH_PORT/" 2>&1)
  PRE=$(($(preemptions "$SERVER") - x0))
  REQ=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  CPU=none
  if [[ -n $prof ]]; then
    CPU=$(awk -v c=$(($(proc_cpu_ns "$prof") - c0)) -v t=$(($(date +%s%N) - t0)) 'BEGIN {printf "%.2f", 100 * c / t}')
    kill -TERM "$prof"
    wait "$prof" 2>/dev/null
  fi
}

declare -A REQS CPUS PRES
for ((p = 0; p < PAIRS; p++)); do
  for kind in none agent none pid; do
    run_case "$kind"
    REQS[$kind]+="$REQ "
    CPUS[$kind]+="$CPU "
    PRES[$kind]+="$PRE "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR + 1) / 2)] : "n/a")}'; }
base=$(median <<<"${REQS[none]}")
echo "| case | req/s (median) | ratio | loopprof CPU % | server preemptions per run |"
echo "|---|---|---|---|---|"
for kind in none agent pid; do
  r=$(median <<<"${REQS[$kind]}")
  printf "| %s | %s | %s | %s | %s |\n" "$kind" "$r" \
    "$(awk -v a="$r" -v b="$base" 'BEGIN {printf "%.3f", a / b}')" "$(median <<<"${CPUS[$kind]}")" \
    "$(median <<<"${PRES[$kind]}")"
done
echo "(raw req/s: none ${REQS[none]}; agent ${REQS[agent]}; pid ${REQS[pid]})"

# RSS with RSS_LOOPS watched processes, and per-program BPF cost.
start_idle_loops $((RSS_LOOPS - IDLE_LOOPS - 1))
sysctl -qw kernel.bpf_stats_enabled=1
"$LOOPPROF" agent --listen "127.0.0.1:$METRICS_PORT" -t "$THRESHOLD_MS" --no-log \
  --match "aiohttp_server.py|idle_loop_bench.py" >"$WORK/agent-rss.log" 2>&1 &
AGENT=$!
KIDS+=("$AGENT")
wait_watched "$RSS_LOOPS" || echo "agent.sh: agent did not watch $RSS_LOOPS loops" >&2
wrk -t1 -c10 -d"$WRK_DURATION" "http://127.0.0.1:$BENCH_PORT/" >/dev/null 2>&1
echo "agent RSS with $RSS_LOOPS watched processes: $(($(rss_kb "$AGENT") / 1024)) MB"
echo "BPF programs of the agent (run count, ns per run) over one wrk run:"
# The agent's programs: the prog_id of its BPF fds (bpftool's own "pids"
# needs a bpftool built with its pid iterator, which Debian's lacks here).
bpftool prog show -j 2>/dev/null | python3 -c '
import glob, json, re, sys
ids = set()
for f in glob.glob("/proc/%s/fdinfo/*" % sys.argv[1]):
    try:
        m = re.search(r"^prog_id:\s*(\d+)", open(f).read(), re.M)
    except OSError:
        continue
    if m:
        ids.add(int(m.group(1)))
for p in json.load(sys.stdin):
    if p.get("id") in ids and p.get("run_cnt"):
        print("  %-28s %10d runs  %7.0f ns" % (p.get("name", "?"), p["run_cnt"], p["run_time_ns"] / p["run_cnt"]))
' "$AGENT"
sysctl -qw kernel.bpf_stats_enabled=0
kill -TERM "$AGENT"
wait "$AGENT" 2>/dev/null
