#!/usr/bin/env bash
# Runs the Windows suites under Wine with the Windows build of Deno (deno.exe):
#   - tests/windows/*_test.ts: the job-object algorithm against the fake OS, struct decoders, platform;
#   - tests/wine/*_wine.ts: the real FFI layer and the end-to-end job-object lookup (a copy of deno.exe
#     named vmcompute.exe holds \Container_<id> jobs).
# usage: scripts/test_wine.sh --junit-path=<file> [extra deno test args...]
# Exits 77 with nothing on stdout when Wine or deno.exe is not set up (run scripts/wine_setup.sh first).
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tools/wine/env.sh
source tools/wine/env.sh

junit=""
args=()
for a in "$@"; do
  case $a in
    --junit-path=*) junit=${a#--junit-path=} ;;
    *) args+=("$a") ;;
  esac
done

if ! wine_ready; then
  echo "test_wine: Wine or deno.exe is not set up (run scripts/wine_setup.sh)" >&2
  exit 77
fi

# A persistent wineserver, with Wine's services started on /dev/null so they never hold our stdio open.
"$WINESERVER" -p </dev/null >/dev/null 2>&1 || true
"$WINE64" cmd /c exit </dev/null >/dev/null 2>&1 || true

# The vmcompute.exe stand-in must be a real copy (Wine names a process after the first path its file was
# opened under, so a hard link would rename every deno.exe process).
vmcompute=$K8S_ATTESTOR_WINE_DIR/vmcompute/vmcompute.exe
if ! cmp -s "$DENO_EXE" "$vmcompute"; then
  mkdir -p "$(dirname "$vmcompute")"
  cp "$DENO_EXE" "$vmcompute.part" && mv "$vmcompute.part" "$vmcompute"
fi
K8S_ATTESTOR_VMCOMPUTE_EXE=$(to_wine_path "$vmcompute")
export K8S_ATTESTOR_VMCOMPUTE_EXE

junit_args=()
[[ -n $junit ]] && junit_args=("--junit-path=$(to_wine_path "$junit")")

# --no-config: these suites use only node: built-ins and relative imports, and deno.exe must not touch
# the Linux-installed node_modules/ or deno.lock.
deno_exe test -A --no-config --no-prompt "${junit_args[@]}" "${args[@]}" \
  tests/windows/ tests/wine/winapi_ffi_wine.ts tests/wine/job_lookup_wine.ts </dev/null
rc=$?

# deno.exe under Wine can leave ~97 MB node.exe.tmp-<pid> files behind; never let them pile up.
find "$WINEPREFIX" -name 'node.exe.tmp-*' -delete 2>/dev/null || true
exit $rc
