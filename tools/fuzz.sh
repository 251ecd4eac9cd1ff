#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR/tests/fuzz for SECONDS each,
# JOBS of them at a time (default 1), on (and adding to) its corpus in
# tests/fuzz/corpus/NAME; prints the execs. A crash fails the run with the
# fuzzer's report and its crash-* input.
#
#   tools/fuzz.sh [BUILD_DIR] [SECONDS] [JOBS]
set -euo pipefail
build_dir=${1:-build-fuzz}
seconds=${2:-60}
jobs_max=${3:-1}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"

# One fuzzer; its verdict goes to NAME.result (printed in order at the end).
run_one() {
  local fuzzer=$1 name corpus log
  name=$(basename "$fuzzer" _fuzz)
  corpus="$root/tests/fuzz/corpus/$name"
  log="$artifacts/$name.log"
  mkdir -p "$corpus"
  if "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$artifacts/$name-" "$corpus" >"$log" 2>&1; then
    echo "fuzz $name: $(grep -E '^Done' "$log" | tail -1), corpus $(ls "$corpus" | wc -l) inputs" \
      >"$artifacts/$name.result"
  else
    { echo "fuzz $name: FAILED (see $log)"
      grep -E 'ERROR|runtime error|Test unit written' "$log" | head -5; } >"$artifacts/$name.result"
  fi
}

fuzzers=("$build_dir"/tests/fuzz/*_fuzz)
for fuzzer in "${fuzzers[@]}"; do
  rm -f "$artifacts/$(basename "$fuzzer" _fuzz).result"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  run_one "$fuzzer" &
done
wait
status=0
for fuzzer in "${fuzzers[@]}"; do
  result="$artifacts/$(basename "$fuzzer" _fuzz).result"
  cat "$result"
  grep -q FAILED "$result" && status=1
done
exit $status
