#!/usr/bin/env bash
# Overhead benchmarks for loopprof and its peers (not tests: ctest never runs
# them). Usage: sudo tools/bench/run.sh BUILD_DIR   (or: make bench)
#
# Every case is a set of paired runs: the same procedure with and without a
# profiler attached, alternating which half of the pair goes first. The table
# gives the median of each side, their ratio (attached/baseline) and the
# range of the per-pair ratios. It goes to stdout and BUILD_DIR/bench-results.md;
# profiler logs go to BUILD_DIR/bench-logs/. See tools/bench/README.md.
#
# Knobs (environment): PAIRS (5), SPIN_ITERS (300000), WRK_PAIRS (3),
# DEBUG_PAIRS (1), WRK_DURATION (5s), BENCH_PORT (18765), THRESHOLD_MS (100),
# LOOPPROF (BUILD_DIR/loopprof), UVLOOP (0; 1 adds a uvloop aiohttp row),
# CASES (default: "loopprof bpftrace perf bystander aiohttp"; also
# "loopprof-F0": loopprof without its CPU sampler, and "pinned": loopprof and
# bpftrace with target and profiler pinned to one CPU, as in a 1-CPU
# container or on a saturated machine).
set -u -o pipefail

die() {
  echo "run.sh: $*" >&2
  exit 1
}

[[ $# -ge 1 ]] || die "usage: $0 BUILD_DIR"
BUILD_DIR=$(realpath "$1") || die "no build dir '$1'"
SRC_DIR=$(dirname "$(realpath "$0")")
BENCH_BIN=$BUILD_DIR/tools/bench
LOOPPROF=${LOOPPROF:-$BUILD_DIR/loopprof}
PYTHON=/usr/bin/python3

PAIRS=${PAIRS:-5}
SPIN_ITERS=${SPIN_ITERS:-300000}
WRK_PAIRS=${WRK_PAIRS:-3}
DEBUG_PAIRS=${DEBUG_PAIRS:-1}
WRK_DURATION=${WRK_DURATION:-5s}
BENCH_PORT=${BENCH_PORT:-18765}
THRESHOLD_MS=${THRESHOLD_MS:-100}
CASES=${CASES:-loopprof bpftrace perf bystander aiohttp}
UVLOOP=${UVLOOP:-0}

RESULTS=$BUILD_DIR/bench-results.md
LOG_DIR=$BUILD_DIR/bench-logs
WORK=$(mktemp -d /tmp/loopprof-bench.XXXXXX)

[[ $(id -u) -eq 0 ]] || die "needs root (BPF, perf): sudo $0 $*"
for prog in epoll_spin bystander; do
  [[ -x $BENCH_BIN/$prog ]] || die "missing $BENCH_BIN/$prog: build first (make build)"
done
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"

ROWS=()  # markdown table rows
NOTES=() # anything that went wrong or looked odd
declare -A NOTED
BACKGROUND=() # pids this script started and must not leave behind

note() {
  local key=$1
  shift
  [[ -n ${NOTED[$key]:-} ]] && return
  NOTED[$key]=1
  NOTES+=("$*")
  echo "note: $*" >&2
}

# Kill what is left of the processes this script started (still its
# children, so a recycled pid is never hit).
cleanup() {
  local pid
  for pid in "${BACKGROUND[@]}"; do
    [[ $(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f2) == "$$" ]] &&
      kill -KILL "$pid" 2>/dev/null
  done
  exec 3>&- 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- process helpers --------------------------------------------------------

# Alive and not a zombie.
alive() {
  [[ -r /proc/$1/stat ]] || return 1
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [[ -n $state && $state != Z ]]
}

# CPU time used so far by all threads of PID, in ns (schedstat).
proc_cpu_ns() {
  local f v total=0
  for f in /proc/"$1"/task/*/schedstat; do
    { read -r v _ <"$f"; } 2>/dev/null && total=$((total + v))
  done
  echo "$total"
}

now_ns() { date +%s%N; }

# cpu_share CPU_NS0 CPU_NS1 T0 T1: percent of one CPU used in [T0, T1].
cpu_share() {
  awk -v c=$(($2 - $1)) -v t=$(($4 - $3)) 'BEGIN {
    if (t <= 0) print "n/a"; else printf "%.1f\n", 100 * c / t }'
}

# Kernel attachments a profiler holds: perf events and BPF links.
attach_fd_count() {
  local fd n=0
  for fd in /proc/"$1"/fd/*; do
    [[ $(readlink "$fd" 2>/dev/null) =~ perf_event|bpf[-_]link ]] && n=$((n + 1))
  done
  echo "$n"
}

# Wait until PID holds attachments (count > 0 and stable for 0.3 s), then
# until its own start-up CPU work settles (< 10% CPU over 0.3 s), so the
# measured run does not compete with profiler start-up. Fails if PID dies or
# 15 s pass.
wait_attached() {
  local pid=$1 prev=-1 stable=0 n i
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || return 1
    n=$(attach_fd_count "$pid")
    if ((n > 0 && n == prev)); then stable=$((stable + 1)); else stable=0; fi
    prev=$n
    ((stable >= 3)) && break
    sleep 0.1
  done
  ((stable >= 3)) || return 1
  local c0 c1
  for ((i = 0; i < 30; i++)); do
    c0=$(proc_cpu_ns "$pid")
    sleep 0.3
    alive "$pid" || return 1
    c1=$(proc_cpu_ns "$pid")
    ((c1 - c0 <= 30000000)) && return 0
  done
  note "busy-$pid" "profiler pid $pid still busy (>10% CPU) 9 s after attaching; measured anyway"
  return 0
}

# wait_exit PID TENTHS: wait up to TENTHS/10 s for PID to exit.
wait_exit() {
  local i
  for ((i = 0; i < $2; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
  ! alive "$1"
}

# start_profiler KIND TARGET_PID LOG: sets PROF_PID.
start_profiler() {
  local kind=$1 target=$2 log=$3
  case $kind in
    loopprof) "${PIN[@]}" "$LOOPPROF" -p "$target" -t "$THRESHOLD_MS" >"$log" 2>&1 & ;;
    loopprof-F0) "${PIN[@]}" "$LOOPPROF" -p "$target" -t "$THRESHOLD_MS" -F 0 >"$log" 2>&1 & ;;
    bpftrace) "${PIN[@]}" bpftrace "$SRC_DIR/peer_loop.bt" "$target" "$THRESHOLD_MS" >"$log" 2>&1 & ;;
    perf)
      "${PIN[@]}" perf record -q -e syscalls:sys_enter_epoll_wait -e syscalls:sys_exit_epoll_wait \
        -p "$target" -o "$WORK/perf.data" >"$log" 2>&1 &
      ;;
    *) die "BUG: unknown profiler kind $kind" ;;
  esac
  PROF_PID=$!
  BACKGROUND+=("$PROF_PID")
}

# stop_profiler KIND PID LOG HOW: HOW=target-exited (loopprof and perf get
# 3 s to notice and exit by themselves; bpftrace does not follow a PID) or
# stop (SIGINT right away). Notes every surprise: no self-exit where
# expected, a hang after SIGINT, a bad status.
stop_profiler() {
  local kind=$1 pid=$2 log=$3 how=$4 signalled=0
  if [[ $how == target-exited && $kind != bpftrace ]]; then
    if ! wait_exit "$pid" 30; then
      [[ $kind != perf ]] &&
        note "noexit-$kind" "$kind kept running 3 s after its target exited; stopped with SIGINT (log: $log)"
      kill -INT "$pid" 2>/dev/null
      signalled=1
    fi
  else
    kill -INT "$pid" 2>/dev/null
    signalled=1
  fi
  if ! wait_exit "$pid" 50; then
    note "hang-$kind" "$kind did not exit within 5 s of SIGINT; killed (log: $log)"
    {
      echo "--- run.sh: still running 5 s after SIGINT; threads (state, wchan, kernel stack):"
      local task
      for task in /proc/"$pid"/task/*; do
        echo "$(sed 's/^.*) //' "$task/stat" | cut -d' ' -f1) $(cat "$task/wchan") $task"
        cat "$task/stack"
      done
    } >>"$log" 2>&1
    kill -KILL "$pid" 2>/dev/null
  fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  # perf exits 130 after SIGINT by design; the others should exit 0.
  if ((rc != 0)) && ! [[ $kind == perf && $signalled == 1 && $rc == 130 ]]; then
    note "rc-$kind-$rc" "$kind exited with status $rc ($how) (log: $log)"
  fi
  # loopprof reports lost ring-buffer records as "dropped N <what> records".
  if [[ $kind == loopprof* ]]; then
    local n
    n=$(awk '/^dropped [0-9]+ / {s += $2} END {print s + 0}' "$log")
    CASE_DROPS=$((CASE_DROPS + n))
  fi
}
CASE_DROPS=0

# After a case: one note if loopprof lost records in any of its runs.
note_drops() {
  if ((CASE_DROPS > 0)); then
    note "drops-$1" "$1: loopprof dropped $CASE_DROPS ring-buffer records in total over its runs (see \"dropped\" in $LOG_DIR/$2*)"
  fi
  CASE_DROPS=0
}

# ---- statistics and table ---------------------------------------------------

median() {
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
    awk '{a[NR] = $1} END {
      if (NR == 0) print "n/a";
      else if (NR % 2) printf "%.1f\n", a[(NR + 1) / 2];
      else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    num = "^[0-9]+([.][0-9]*)?$";
    if (a !~ num || b !~ num || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

# add_row CASE UNIT "BASELINES" "ATTACHED" "WALL_BASELINES" "WALL_ATTACHED"
# "PROFILER_CPU" "PREEMPTED_BASELINES" "PREEMPTED_ATTACHED": one table row
# from paired samples (the i-th baseline and the i-th attached value form
# pair i). Wall-clock samples ("" if none) only give a ratio; PROFILER_CPU
# are the profiler's own CPU shares (% of one CPU); PREEMPTED are the
# measured thread's involuntary context switches per run.
add_row() {
  local name=$1 unit=$2
  local -a base att pair=()
  read -ra base <<<"$3"
  read -ra att <<<"$4"
  local i
  for ((i = 0; i < ${#base[@]} && i < ${#att[@]}; i++)); do
    pair+=("$(ratio "${att[i]}" "${base[i]}")")
  done
  local mb ma range wall="—"
  mb=$(median "${base[@]}")
  ma=$(median "${att[@]}")
  range=$(printf '%s\n' "${pair[@]}" | grep -E '^[0-9.]+$' | sort -g |
    awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) printf "%s–%s", lo, hi; else print "n/a"}')
  if [[ -n ${5:-} ]]; then
    local -a wb wa
    read -ra wb <<<"$5"
    read -ra wa <<<"$6"
    wall="$(median "${wb[@]}") → $(median "${wa[@]}") ($(ratio "$(median "${wa[@]}")" "$(median "${wb[@]}")"))"
  fi
  local -a pc
  read -ra pc <<<"${7:-}"
  local prof_cpu
  prof_cpu=$(median "${pc[@]}")
  [[ $prof_cpu == n/a ]] || prof_cpu="$prof_cpu%"
  local preempted="—"
  if [[ -n ${8:-} ]]; then
    local -a xb xa
    read -ra xb <<<"$8"
    read -ra xa <<<"${9:-}"
    preempted="$(median "${xb[@]}" | sed 's/[.]0$//') → $(median "${xa[@]}" | sed 's/[.]0$//')"
  fi
  local npairs
  npairs=$(printf '%s\n' "${pair[@]}" | grep -cE '^[0-9.]+$')
  ROWS+=("| $name | $unit | $mb | $ma | $(ratio "$ma" "$mb") | $range | $wall | $prof_cpu | $preempted | $npairs |")
  echo "  -> $name: baseline $mb, attached $ma $unit; wall $wall; profiler CPU $prof_cpu; preempted $preempted" >&2
}

# ---- (a)-(c): epoll_spin under a profiler -------------------------------------

# run_spin KIND LOG: one epoll_spin run, the profiler (KIND, or none)
# attached before the timed loop starts. Sets RESULT (CPU ns/iter),
# RESULT_WALL (wall ns/iter), RESULT_PREEMPT (involuntary context switches
# of the loop) and RESULT_PROF (profiler CPU %), "fail" when there is no
# measurement.
run_spin() {
  local kind=$1 log=$2 fifo=$WORK/go out=$WORK/spin.out
  RESULT=fail RESULT_WALL=fail RESULT_PROF=none RESULT_PREEMPT=fail
  rm -f "$fifo" "$out"
  mkfifo "$fifo"
  "${PIN[@]}" "$BENCH_BIN/epoll_spin" -w -n "$SPIN_ITERS" <"$fifo" >"$out" 2>&1 &
  local spin=$!
  BACKGROUND+=("$spin")
  exec 3>"$fifo"
  local i
  for ((i = 0; i < 50; i++)); do
    grep -q '^ready ' "$out" && break
    sleep 0.1
  done
  local prof=""
  if [[ $kind != none ]]; then
    start_profiler "$kind" "$spin" "$log"
    prof=$PROF_PID
    if ! wait_attached "$prof"; then
      note "attach-$kind" "$kind did not attach to epoll_spin (log: $log): $(tail -n 3 "$log" | tr '\n' ' ')"
      exec 3>&-
      wait "$spin"
      stop_profiler "$kind" "$prof" "$log" stop
      return
    fi
  fi
  local c0 t0
  [[ -n $prof ]] && c0=$(proc_cpu_ns "$prof") t0=$(now_ns)
  echo go >&3
  exec 3>&-
  wait "$spin" || note "spin-fail" "epoll_spin failed: $(cat "$out")"
  if [[ -n $prof ]]; then
    RESULT_PROF=$(cpu_share "$c0" "$(proc_cpu_ns "$prof")" "$t0" "$(now_ns)")
    stop_profiler "$kind" "$prof" "$log" target-exited
  fi
  RESULT=$(sed -n 's/.*cpu_ns_per_iter=\([0-9.]*\).*/\1/p' "$out")
  RESULT_WALL=$(sed -n 's/^ns_per_iter=\([0-9.]*\).*/\1/p' "$out")
  RESULT_PREEMPT=$(sed -n 's/.*preempted=\([0-9]*\).*/\1/p' "$out")
  [[ -n $RESULT ]] || RESULT=fail
  [[ -n $RESULT_WALL ]] || RESULT_WALL=fail
}

# spin_case KIND LABEL [LOG_TAG]: paired epoll_spin runs; PIN (a command
# prefix such as "taskset -c 0", or empty) applies to target and profiler.
spin_case() {
  local kind=$1 label=$2 tag=${3:-$1} p
  local -a base=() att=() wbase=() watt=() pcpu=() xbase=() xatt=()
  echo "== epoll_spin x $kind ($PAIRS pairs, $SPIN_ITERS iterations)" >&2
  run_spin none /dev/null # warm-up
  for ((p = 1; p <= PAIRS; p++)); do
    local log=$LOG_DIR/spin-$tag-$p.log
    local half
    for half in $( ((p % 2)) && echo "none $kind" || echo "$kind none"); do
      if [[ $half == none ]]; then
        run_spin none /dev/null
        base+=("$RESULT") wbase+=("$RESULT_WALL") xbase+=("$RESULT_PREEMPT")
      else
        run_spin "$kind" "$log"
        att+=("$RESULT") watt+=("$RESULT_WALL") xatt+=("$RESULT_PREEMPT") pcpu+=("$RESULT_PROF")
      fi
    done
  done
  add_row "$label" "CPU ns/iter" "${base[*]}" "${att[*]}" "${wbase[*]}" "${watt[*]}" "${pcpu[*]}" \
    "${xbase[*]}" "${xatt[*]}"
  note_drops "$label" "spin-$tag-"
}

# ---- (d): bystander while loopprof watches another process -------------------

BYSTANDER_MODES="getppid:2000000 epoll:2000000 pipe:500000 pingpong:50000"

bystander_round() { # sets BY_CPU[mode], BY_WALL[mode] and BY_PREEMPT[mode]
  local entry mode ops out
  for entry in $BYSTANDER_MODES; do
    mode=${entry%%:*} ops=${entry#*:}
    out=$("$BENCH_BIN/bystander" -m "$mode" -n "$ops")
    BY_CPU[$mode]=$(sed -n 's/.*cpu_ns_per_op=\([0-9.]*\).*/\1/p' <<<"$out")
    BY_WALL[$mode]=$(sed -n 's/^ns_per_op=\([0-9.]*\).*/\1/p' <<<"$out")
    BY_PREEMPT[$mode]=$(sed -n 's/.*preempted=\([0-9]*\).*/\1/p' <<<"$out")
    [[ -n ${BY_CPU[$mode]} ]] || BY_CPU[$mode]=fail
    [[ -n ${BY_WALL[$mode]} ]] || BY_WALL[$mode]=fail
  done
}

bystander_case() {
  echo "== bystander x loopprof on an idle epoll loop ($PAIRS pairs)" >&2
  "$BENCH_BIN/epoll_spin" -i &
  local idle=$!
  BACKGROUND+=("$idle")
  declare -A BY_CPU BY_WALL BY_PREEMPT BASE ATT WBASE WATT XBASE XATT
  local -a pcpu=()
  local p entry mode
  bystander_round # warm-up
  for ((p = 1; p <= PAIRS; p++)); do
    local log=$LOG_DIR/bystander-loopprof-$p.log
    local order="base att"
    ((p % 2)) || order="att base"
    for half in $order; do
      if [[ $half == base ]]; then
        bystander_round
        for entry in $BYSTANDER_MODES; do
          mode=${entry%%:*}
          BASE[$mode]+="${BY_CPU[$mode]} "
          WBASE[$mode]+="${BY_WALL[$mode]} "
          XBASE[$mode]+="${BY_PREEMPT[$mode]} "
        done
      else
        start_profiler loopprof "$idle" "$log"
        local prof=$PROF_PID
        if wait_attached "$prof"; then
          local c0 t0
          c0=$(proc_cpu_ns "$prof") t0=$(now_ns)
          bystander_round
          pcpu+=("$(cpu_share "$c0" "$(proc_cpu_ns "$prof")" "$t0" "$(now_ns)")")
          alive "$prof" || note "died-bystander" "loopprof exited while watching an idle loop (log: $log)"
          for entry in $BYSTANDER_MODES; do
            mode=${entry%%:*}
            ATT[$mode]+="${BY_CPU[$mode]} "
            WATT[$mode]+="${BY_WALL[$mode]} "
            XATT[$mode]+="${BY_PREEMPT[$mode]} "
          done
        else
          note "attach-bystander" "loopprof did not attach to the idle loop (log: $log): $(tail -n 3 "$log" | tr '\n' ' ')"
        fi
        stop_profiler loopprof "$prof" "$log" stop
      fi
    done
  done
  kill "$idle"
  wait "$idle" 2>/dev/null
  for entry in $BYSTANDER_MODES; do
    mode=${entry%%:*}
    add_row "(d) bystander $mode, loopprof on another pid" "CPU ns/op" \
      "${BASE[$mode]}" "${ATT[$mode]:-}" "${WBASE[$mode]}" "${WATT[$mode]:-}" "${pcpu[*]}" \
      "${XBASE[$mode]}" "${XATT[$mode]:-}"
  done
  note_drops "(d) bystander" "bystander-loopprof-"
}

# ---- (e): aiohttp under wrk -----------------------------------------------------

wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 4<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Involuntary context switches of PID's main thread so far.
preemptions_of() {
  awk '/^nonvoluntary_ctxt_switches/ {print $2}' "/proc/$1/task/$1/status" 2>/dev/null
}

# run_wrk KIND SERVER_PID LOG: sets RESULT (req/s or "fail"), RESULT_PROF
# (profiler CPU %), RESULT_PREEMPT (the server's main-thread involuntary
# context switches during the run) and RESULT_CPU_REQ (the server's CPU ns per
# request: what the profiler costs the server itself, which other work on
# the machine disturbs far less than req/s).
run_wrk() {
  local kind=$1 server=$2 log=$3 prof="" out c0 t0 x0 s0 requests
  RESULT=fail RESULT_PROF=none RESULT_PREEMPT=fail RESULT_CPU_REQ=fail
  if [[ $kind != none ]]; then
    start_profiler "$kind" "$server" "$log"
    prof=$PROF_PID
    if ! wait_attached "$prof"; then
      note "attach-aiohttp-$kind" "$kind did not attach to the aiohttp server (log: $log): $(tail -n 3 "$log" | tr '\n' ' ')"
      stop_profiler "$kind" "$prof" "$log" stop
      return
    fi
  fi
  [[ -n $prof ]] && c0=$(proc_cpu_ns "$prof") t0=$(now_ns)
  x0=$(preemptions_of "$server")
  s0=$(proc_cpu_ns "$server")
  out=$(wrk -t1 -c10 -d"$WRK_DURATION" "http://127.0.0.1:$BENCH_PORT/" 2>&1)
  RESULT_PREEMPT=$(($(preemptions_of "$server") - x0))
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  [[ -n $requests && $requests -gt 0 ]] &&
    RESULT_CPU_REQ=$(awk -v c="$(($(proc_cpu_ns "$server") - s0))" -v n="$requests" \
      'BEGIN {printf "%.1f", c / n}')
  [[ -n $prof ]] && RESULT_PROF=$(cpu_share "$c0" "$(proc_cpu_ns "$prof")" "$t0" "$(now_ns)")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    note "wrk-errors-$kind" "wrk saw errors ($kind): $(grep -E 'Non-2xx|Socket errors' <<<"$out" | head -n 2 | tr '\n' ' ')"
  fi
  if [[ -n $prof ]]; then
    alive "$prof" || note "died-aiohttp-$kind" "$kind exited while the server was under load (log: $log)"
    stop_profiler "$kind" "$prof" "$log" stop
  fi
  RESULT=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  [[ -n $RESULT ]] || RESULT=fail
}

# aiohttp_case LABEL PAIRS ENV... : a fresh server, then paired wrk runs.
aiohttp_case() {
  local label=$1 pairs=$2 extra_args=$3
  shift 3
  echo "== aiohttp $label ($pairs pairs of wrk -d$WRK_DURATION)" >&2
  env "$@" "$PYTHON" "$SRC_DIR/aiohttp_server.py" "$BENCH_PORT" ${extra_args:+"$extra_args"} \
    >"$LOG_DIR/aiohttp-server-$label.log" 2>&1 &
  local server=$!
  BACKGROUND+=("$server")
  if ! wait_port "$BENCH_PORT"; then
    note "server-$label" "aiohttp server ($label) did not listen on 127.0.0.1:$BENCH_PORT"
    kill "$server" 2>/dev/null
    return
  fi
  wrk -t1 -c10 -d1s "http://127.0.0.1:$BENCH_PORT/" >/dev/null 2>&1 # warm-up
  local -a base=() att=() pcpu=() xbase=() xatt=() cbase=() catt=()
  local p half
  for ((p = 1; p <= pairs; p++)); do
    local log=$LOG_DIR/aiohttp-$label-loopprof-$p.log
    for half in $( ((p % 2)) && echo "none loopprof" || echo "loopprof none"); do
      if [[ $half == none ]]; then
        run_wrk none "$server" /dev/null
        base+=("$RESULT") xbase+=("$RESULT_PREEMPT") cbase+=("$RESULT_CPU_REQ")
      else
        run_wrk loopprof "$server" "$log"
        att+=("$RESULT") xatt+=("$RESULT_PREEMPT") pcpu+=("$RESULT_PROF") catt+=("$RESULT_CPU_REQ")
      fi
    done
  done
  kill -INT "$server"
  wait_exit "$server" 50 || kill -KILL "$server"
  wait "$server" 2>/dev/null
  add_row "(e) aiohttp $label, wrk -t1 -c10 -d$WRK_DURATION" "req/s" "${base[*]}" "${att[*]}" \
    "" "" "${pcpu[*]}" "${xbase[*]}" "${xatt[*]}"
  add_row "(e) aiohttp $label, the server's CPU per request" "CPU ns/req" "${cbase[*]}" \
    "${catt[*]}"
  note_drops "(e) aiohttp $label" "aiohttp-$label-loopprof-"
  AIOHTTP_BASE[$label]=$(median "${base[@]}")
}

# ---- main ---------------------------------------------------------------------

have() { command -v "$1" >/dev/null 2>&1; }
wants() { [[ " $CASES " == *" $1 "* ]]; }
skip_row() { ROWS+=("| $1 | | skipped: $2 | | | | | | | 0 |"); }

declare -A AIOHTTP_BASE
PIN=(env) # command prefix for spin targets and profilers (see the pinned case)
START=$(date +%s)

if wants loopprof; then
  if [[ -x $LOOPPROF ]]; then
    spin_case loopprof "(a) epoll_spin, loopprof -p PID -t $THRESHOLD_MS"
  else
    skip_row "(a) epoll_spin, loopprof" "no $LOOPPROF"
  fi
fi
if wants loopprof-F0; then
  if [[ -x $LOOPPROF ]]; then
    spin_case loopprof-F0 "(a') epoll_spin, loopprof -p PID -t $THRESHOLD_MS -F 0 (no CPU sampler)"
  else
    skip_row "(a') epoll_spin, loopprof -F 0" "no $LOOPPROF"
  fi
fi
if wants pinned; then
  if [[ -x $LOOPPROF ]] && have taskset; then
    PIN=(taskset -c 0)
    spin_case loopprof "(a-pinned) epoll_spin, loopprof, both pinned to CPU 0" loopprof-pinned
    if have bpftrace; then
      spin_case bpftrace "(b-pinned) epoll_spin, bpftrace peer_loop.bt, both pinned to CPU 0" \
        bpftrace-pinned
    fi
    PIN=(env)
  else
    skip_row "(a-pinned) epoll_spin, loopprof, pinned" "needs $LOOPPROF and taskset"
  fi
fi
if wants bpftrace; then
  if have bpftrace; then
    spin_case bpftrace "(b) epoll_spin, bpftrace peer_loop.bt"
  else
    skip_row "(b) epoll_spin, bpftrace peer_loop.bt" "bpftrace not installed"
  fi
fi
if wants perf; then
  if have perf; then
    spin_case perf "(c) epoll_spin, perf record -e sys_{enter,exit}_epoll_wait -p PID"
  else
    skip_row "(c) epoll_spin, perf record" "perf not installed"
  fi
fi
if wants bystander; then
  if [[ -x $LOOPPROF ]]; then
    bystander_case
  else
    skip_row "(d) bystander" "no $LOOPPROF"
  fi
fi
if wants aiohttp; then
  if [[ ! -x $LOOPPROF ]]; then
    skip_row "(e) aiohttp" "no $LOOPPROF"
  elif ! have wrk || ! "$PYTHON" -c 'import aiohttp' 2>/dev/null; then
    skip_row "(e) aiohttp" "needs wrk and $PYTHON with aiohttp"
  else
    aiohttp_case default "$WRK_PAIRS" ""
    aiohttp_case PYTHONASYNCIODEBUG=1 "$DEBUG_PAIRS" "" PYTHONASYNCIODEBUG=1
    if [[ $UVLOOP == 1 ]]; then
      aiohttp_case uvloop "$WRK_PAIRS" "--uvloop"
    fi
  fi
fi

{
  echo "## loopprof overhead benchmarks"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs," \
    "source $(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'), loopprof binary $LOOPPROF," \
    "$PAIRS pairs (aiohttp: $WRK_PAIRS), $(($(date +%s) - START)) s."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine adds noise)."
  echo "Ratio = attached / baseline (medians): above 1 is slower for ns/iter and ns/op," \
    "below 1 is fewer requests for req/s. CPU ns = the measured thread's own CPU time;" \
    "wall = median wall-clock ns, baseline → attached (ratio)." \
    "profiler CPU = the profiler's own CPU use while measured (% of one CPU, median)." \
    "preempted = involuntary context switches of the measured thread per run, baseline → attached (medians)."
  echo
  echo "| case | unit | baseline (median) | attached (median) | ratio | pair ratios | wall | profiler CPU | preempted | pairs |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  if [[ -n ${AIOHTTP_BASE[default]:-} && -n ${AIOHTTP_BASE[PYTHONASYNCIODEBUG=1]:-} ]]; then
    echo
    echo "asyncio debug mode alone (no profiler): ${AIOHTTP_BASE[PYTHONASYNCIODEBUG=1]} vs" \
      "${AIOHTTP_BASE[default]} req/s, ratio" \
      "$(ratio "${AIOHTTP_BASE[PYTHONASYNCIODEBUG=1]}" "${AIOHTTP_BASE[default]}")."
  fi
  if ((${#NOTES[@]})); then
    echo
    echo "Notes:"
    printf -- '- %s\n' "${NOTES[@]}"
  fi
} | tee "$RESULTS"
echo "(written to $RESULTS; profiler logs in $LOG_DIR)" >&2
