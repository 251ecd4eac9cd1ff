#!/usr/bin/env bash
# Installs the Debian packages loopprof needs to build, test and demo.
# Idempotent: only missing packages are installed.
set -euo pipefail

packages=(
  # build
  cmake make g++ clang llvm libclang-rt-14-dev pkg-config bpftool libbpf-dev libelf-dev libdw-dev
  zlib1g-dev libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev ccache libncurses-dev
  libprotobuf-dev protobuf-compiler libcpp-httplib-dev
  # tests, demo and benchmarks
  python3 python3-aiohttp python3-uvloop bpftrace wrk hyperfine clang-format tmux
  golang-go chromium nodejs prometheus python3-jsonschema
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'sudo make deps' (or install them with apt-get)" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
