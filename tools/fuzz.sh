#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR/tests/fuzz for SECONDS each,
# on (and adding to) its corpus in tests/fuzz/corpus/NAME; prints the execs.
# A crash stops the run with the fuzzer's report and its crash-* input.
set -euo pipefail
build_dir=${1:-build-fuzz}
seconds=${2:-60}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
status=0
for fuzzer in "$build_dir"/tests/fuzz/*_fuzz; do
  name=$(basename "$fuzzer" _fuzz)
  corpus="$root/tests/fuzz/corpus/$name"
  mkdir -p "$corpus" "$build_dir/fuzz-artifacts"
  log="$build_dir/fuzz-artifacts/$name.log"
  if "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$build_dir/fuzz-artifacts/$name-" "$corpus" >"$log" 2>&1; then
    echo "fuzz $name: $(grep -E '^Done' "$log" | tail -1), corpus $(ls "$corpus" | wc -l) inputs"
  else
    echo "fuzz $name: FAILED (see $log)"
    grep -E 'ERROR|runtime error|Test unit written' "$log" | head -5
    status=1
  fi
done
exit $status
