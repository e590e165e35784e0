#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this): installs dependencies, checks the
# sources' format, builds with warnings as errors, runs the unit and integration tests (ctest),
# builds the unit tests again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them,
# then runs every fuzz target for a bounded time, as many at once as there are cores. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzz_seconds=${LEAKHUNT_FUZZ_SECONDS:-20}

echo "== dependencies"
scripts/install-deps.sh

echo "== source format (.clang-format; fix with: clang-format -i FILE)"
format_bad=()
while IFS= read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || format_bad+=("$f")
done < <(find src tests bench examples -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.c' | sort)
if [ "${#format_bad[@]}" -ne 0 ]; then
  echo "these files are not formatted as .clang-format says (run clang-format -i on them):"
  printf '  %s\n' "${format_bad[@]}"
  exit 1
fi

echo "== build (warnings are errors)"
scripts/build.sh

echo "== unit and integration tests"
(cd build && ctest -j"$jobs" --output-on-failure)

echo "== unit tests under ASan + UBSan"
unit_tests="util_test agent_core_test format_test proc_test recorddir_test series_test trend_test profile_test symbolize_test report_test server_test cli_test watch_test heapscan_test heapgraph_test capture_test capture_python_test capture_java_test capture_go_test patterns_test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLEAKHUNT_SANITIZE=ON -DLEAKHUNT_WERROR=ON \
  -DLEAKHUNT_BUILD_BENCH=OFF > build-asan.log 2>&1 || { cat build-asan.log; exit 1; }
cmake --build build-asan -j"$jobs" --target $unit_tests \
  >> build-asan.log 2>&1 || { grep -E "error" -A3 build-asan.log | head -60; exit 1; }
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -L unit -j"$jobs" --output-on-failure)

echo "== the agent of the sanitizer build carries no sanitizer (it is preloaded into plain programs)"
cmake --build build-asan -j"$jobs" --target leakhunt_agent >> build-asan.log 2>&1 \
  || { grep -E "error" -A3 build-asan.log | head -60; exit 1; }
if nm -D build-asan/lib/libleakhunt_agent.so | grep -q "__asan\|__ubsan"; then
  echo "the agent was built with sanitizer flags"; exit 1
fi
LD_PRELOAD=$PWD/build-asan/lib/libleakhunt_agent.so /bin/true

echo "== fuzz targets (${fuzz_seconds}s each)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DLEAKHUNT_BUILD_FUZZ=ON -DLEAKHUNT_BUILD_BENCH=OFF -DLEAKHUNT_WERROR=OFF \
  > build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }
targets=$(ls tests/fuzz/*.cpp | xargs -n1 basename | sed 's/\.cpp$//')
cmake --build build-fuzz -j"$jobs" --target $targets >> build-fuzz.log 2>&1 \
  || { grep -E "error" -A3 build-fuzz.log | head -60; exit 1; }
# fuzz_one TARGET: runs one target from its corpus and regressions; its verdict goes to
# build-fuzz/TARGET.verdict, its output to build-fuzz/TARGET.log.
fuzz_one() {
  local t=$1 work
  work=$(mktemp -d)
  cp -r tests/fuzz/corpus/"$t"/. "$work"/ 2>/dev/null || true
  local seeds=("$work")
  [ -d tests/fuzz/regressions/"$t" ] && seeds+=(tests/fuzz/regressions/"$t")
  if build-fuzz/bin/"$t" -max_total_time="$fuzz_seconds" -print_final_stats=0 "${seeds[@]}" \
       > "build-fuzz/$t.log" 2>&1; then
    echo ok > "build-fuzz/$t.verdict"
  else
    echo FAILED > "build-fuzz/$t.verdict"
  fi
  rm -rf "$work"
}
running=0
for t in $targets; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait
fuzz_failed=0
for t in $targets; do
  if [ "$(cat "build-fuzz/$t.verdict" 2>/dev/null)" = ok ]; then
    echo "fuzz $t: ok"
  else
    echo "fuzz $t: FAILED"; tail -40 "build-fuzz/$t.log"; fuzz_failed=1
  fi
done
[ "$fuzz_failed" -eq 0 ]
echo "== all tests passed"
