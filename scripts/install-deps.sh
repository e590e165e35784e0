#!/usr/bin/env bash
# Installs what leakhunt needs to build, test and run its demo on Debian 12 (bookworm).
# Idempotent: skips apt when everything is already installed, and npm when memlab is.
set -euo pipefail
packages=(
  build-essential cmake g++ clang clang-format libclang-rt-14-dev llvm python3 gdb
  libboost-dev libfmt-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  pkg-config libunwind-dev libdw-dev libelf-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  golang-go prometheus libgoogle-perftools-dev libjemalloc-dev openjdk-17-jdk-headless
  wrk redis-server redis-tools git debootstrap
  chromium
)
# The HTML report's front-end is bundled with npm at build time (node 18 or newer: Debian 12's
# nodejs is 18.20). A node installed another way (e.g. NodeSource's, which bundles npm) is kept.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# memlab, the V8 heap-snapshot oracle of tests/integration/test_heapgraph.py and the peer of
# bench/v8_snapshot.sh, from npm into ~/.cache/leakhunt/memlab (MEMLAB_DIR): its browser download
# skipped and no install scripts run, so it installs without anything but the npm registry.
memlab_version=2.0.5
memlab_dir=${MEMLAB_DIR:-$HOME/.cache/leakhunt/memlab}
if [ -f "$memlab_dir/node_modules/memlab/package.json" ] &&
   grep -q "\"version\": \"$memlab_version\"" "$memlab_dir/node_modules/memlab/package.json"; then
  echo "install-deps: memlab $memlab_version present in $memlab_dir"
else
  echo "install-deps: installing memlab $memlab_version into $memlab_dir"
  mkdir -p "$memlab_dir"
  PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$memlab_dir" --ignore-scripts --no-audit \
    --no-fund --loglevel=error "memlab@$memlab_version"
fi
