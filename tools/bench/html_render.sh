#!/usr/bin/env bash
# The HTML report of 10,000 stalls over 50,000 distinct stacks: its size and
# what it costs headless Chromium, from Chromium's own trace (CPU time of the
# renderer's main thread, which load changes far less than wall time).
#   tools/bench/html_render.sh [BUILD_DIR] [RUNS]     (default build, 5)
# The page is the one BrowserTest.ReportOfTenThousandStallsRendersInUnderASecond
# writes (LOOPPROF_KEEP_REPORT). Per run: the load average, the script's and
# the whole page's CPU (ParseHTML includes the script; then layout and paint),
# and, from a second load with #selftest, renderMs (script, wall) and
# sinceNavigation (from the navigation to everything drawn, wall).
set -euo pipefail

build=$(cd "${1:-build}" && pwd)
runs=${2:-5}
work=$(mktemp -d /tmp/loopprof-html-render.XXXXXX)
trap 'rm -rf "$work"' EXIT
page=$work/big.html

LOOPPROF_KEEP_REPORT=$page "$build/tests/loopprof_unit_tests" \
  --gtest_filter='BrowserTest.ReportOfTenThousandStallsRendersInUnderASecond' > "$work/test.log" 2>&1 ||
  { cat "$work/test.log" >&2; exit 1; }
echo "page: $(stat -c %s "$page") bytes"

chrome() {  # URL OUT_DIR [chromium args...]
  local url=$1 out=$2
  shift 2
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$out/profile" "$@" --dump-dom "$url" > "$out/dom.html" 2> "$out/log"
}

for i in $(seq "$runs"); do
  run=$work/run$i
  mkdir -p "$run/trace" "$run/selftest"
  load=$(cut -d' ' -f1 /proc/loadavg)
  chrome "file://$page" "$run/trace" --trace-startup='devtools.timeline,v8,blink' \
    --trace-startup-format=json --trace-startup-file="$run/trace.json" --trace-startup-duration=8
  chrome "file://$page#selftest" "$run/selftest"
  python3 - "$run" "$load" <<'PY'
import html, json, re, sys
run, load = sys.argv[1], sys.argv[2]
trace = json.load(open(run + "/trace.json"))
events = [e for e in (trace["traceEvents"] if isinstance(trace, dict) else trace) if e.get("ph") == "X"]
script = max((e for e in events if e["name"] == "EvaluateScript"), key=lambda e: e.get("dur", 0))
main = [e for e in events if (e["pid"], e["tid"]) == (script["pid"], script["tid"])]
cpu = lambda name: sum(e.get("tdur", 0) for e in main if e["name"] == name) / 1000
dom = open(run + "/selftest/dom.html").read()
m = re.search(r'<pre id="selftest-result"[^>]*>([^<]*)</pre>', dom)
r = json.loads(html.unescape(m.group(1))) if m and m.group(1) else {}
print(f"load {load}: CPU script {cpu('EvaluateScript'):.0f} ms, page {cpu('ParseHTML') + cpu('Layout') + cpu('Paint'):.0f} ms"
      f" (ParseHTML {cpu('ParseHTML'):.0f}, layout {cpu('Layout'):.0f}, paint {cpu('Paint'):.0f});"
      f" wall renderMs {r.get('renderMs', 0):.0f}, sinceNavigation {r.get('phases', {}).get('sinceNavigation', 0):.0f};"
      f" errors {len(r.get('errors', ['no self-test result']))}")
PY
done
