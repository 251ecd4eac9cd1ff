#!/usr/bin/env bash
# Installs the npm packages loopprof's tests use into .cache/npm (not the
# system): speedscope, whose own importer checks our --speedscope files.
# Idempotent: does nothing when the pinned versions are there.
set -euo pipefail

cd "$(dirname "$0")/.."
prefix=.cache/npm
packages=(speedscope@1.25.0)

have() {
  local name=${1%@*} version=${1##*@}
  [ -f "$prefix/node_modules/$name/package.json" ] &&
    grep -q "\"version\": \"$version\"" "$prefix/node_modules/$name/package.json"
}

missing=()
for p in "${packages[@]}"; do have "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: npm packages present in $prefix"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "deps: npm is missing (install Node.js with npm (package nodejs), e.g. 'sudo make deps')" >&2
  exit 1
fi
echo "deps: npm install ${missing[*]} into $prefix"
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --no-save "${missing[@]}"
