#!/usr/bin/env bash
# The test command: runs the whole suite and every JSDoc @example with deno test, keeps its normal output
# and exit code, and ends with the CI line "N passed, N failed, N skipped" counted from the JUnit report (one testcase per test,
# step or it()). When Wine and the Windows build of Deno are set up (scripts/wine_setup.sh), the Windows
# suite also runs under Wine and its counts are added.
# usage: scripts/test.sh [extra deno test args...]
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1 RUST_BACKTRACE=0
export DENO=${DENO:-deno}
passed=0 failed=0 skipped=0 rc=0

count() { # count <junit file> <exit code of the run>
  local junit=$1 run_rc=$2 t f s
  if [[ -s "$junit" ]]; then
    t=$(grep -c '<testcase ' "$junit"); f=$(grep -c '<failure' "$junit"); s=$(grep -c '<skipped' "$junit")
  else
    t=1 f=1 s=0 # deno could not run the tests at all (type error, missing module)
  fi
  if [[ $run_rc -ne 0 && $f -eq 0 ]]; then t=$((t + 1)); f=1; fi
  passed=$((passed + t - f - s)); failed=$((failed + f)); skipped=$((skipped + s))
  [[ $run_rc -ne 0 ]] && rc=$run_rc
  rm -f "$junit"
}

junit=$(mktemp --suffix=.xml)
"$DENO" test -A --no-prompt --doc --junit-path="$junit" "$@" tests/ src/ mod.ts
count "$junit" $?

if [[ -x scripts/test_wine.sh ]]; then
  junit=$(mktemp --suffix=.xml)
  scripts/test_wine.sh --junit-path="$junit"
  wine_rc=$?
  if [[ $wine_rc -eq 77 && "${CI:-}" == "true" && "$(uname -s)" == "Linux" ]]; then
    echo "FAILED: Wine is not set up, so the Windows suite could not run (CI on Linux requires it)" >&2
    rm -f "$junit"
    failed=$((failed + 1)); rc=1
  elif [[ $wine_rc -eq 77 ]]; then
    echo "NOTE: Windows suite under Wine skipped (Wine not set up; run scripts/wine_setup.sh)" >&2
    rm -f "$junit"
    skipped=$((skipped + 1))
  else
    count "$junit" $wine_rc
  fi
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $rc
