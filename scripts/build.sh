#!/usr/bin/env bash
# Configures and builds leakhunt into build/ (build/bin/leakhunt, the demo service, victims,
# tests, benchmarks). Warnings are errors. With target names, builds only those (the demo builds
# `leakhunt leakhunt_agent leaky_service`).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEAKHUNT_WERROR=ON > build.log 2>&1 || { cat build.log; exit 1; }
targets=()
[ $# -eq 0 ] || targets=(--target "$@")
cmake --build build -j"$(nproc)" "${targets[@]}" >> build.log 2>&1 || { grep -E "error|Error" -A3 build.log | head -60; exit 1; }
echo "build: ok (build/bin/leakhunt)"
