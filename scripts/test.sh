#!/usr/bin/env bash
# The test command: runs the whole suite and every JSDoc @example with deno test, keeps its normal output
# and exit code, and ends with the CI line "N passed, N failed, N skipped" counted from the JUnit report (one testcase per test,
# step or it()). When Wine and the Windows build of Deno are set up (scripts/wine_setup.sh), the Windows
# suite also runs under Wine and its counts are added. Last, one check that src/gen is what proto/ generates
# (scripts/gen_proto.sh --check). With CI=true a part that cannot run for lack of a tool fails.
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

# A part that needs a tool from outside Deno exits 77 when the tool is missing: a skip on a developer's
# machine, a failure in CI (CI=true, which .ci/run sets), so CI never passes without running it.
missing_tool() { # missing_tool <what could not run> <how to fix>
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAILED: $1 (CI requires it; $2)" >&2
    failed=$((failed + 1)); rc=1
  else
    echo "NOTE: skipped: $1 ($2)" >&2
    skipped=$((skipped + 1))
  fi
}

if [[ -x scripts/test_wine.sh ]]; then
  junit=$(mktemp --suffix=.xml)
  scripts/test_wine.sh --junit-path="$junit"
  wine_rc=$?
  if [[ $wine_rc -eq 77 && "$(uname -s)" == "Linux" ]]; then
    rm -f "$junit"
    missing_tool "Wine is not set up, so the Windows suite could not run" "run scripts/wine_setup.sh"
  elif [[ $wine_rc -eq 77 ]]; then
    echo "NOTE: Windows suite under Wine skipped (not on Linux)" >&2
    rm -f "$junit"
    skipped=$((skipped + 1))
  else
    count "$junit" $wine_rc
  fi
fi

# src/gen must be exactly what proto/ generates (one check; installs the pinned generators from npm).
scripts/gen_proto.sh --check
gen_rc=$?
if [[ $gen_rc -eq 0 ]]; then
  passed=$((passed + 1))
elif [[ $gen_rc -eq 77 ]]; then
  missing_tool "src/gen was not compared with proto/: buf and ts-proto could not be installed" \
    "needs npm and the npm registry"
else
  echo "FAILED: src/gen does not match proto/ (scripts/gen_proto.sh --check; fix: deno task gen:proto)" >&2
  failed=$((failed + 1)); rc=1
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $rc
