#!/usr/bin/env bash
# Runs the Windows suites under Wine with the Windows build of Deno (deno.exe):
#   - tests/windows/*_test.ts: the job-object algorithm against the fake OS, struct decoders, platform;
#   - tests/wine/*_wine.ts: the real FFI layer and the end-to-end job-object lookup (a copy of deno.exe
#     named vmcompute.exe holds \Container_<id> jobs);
#   - tests/wine/plugin_wine.ts, with the Linux deno: the plugin (mod.ts bundled, run by deno.exe under
#     Wine) loaded by the fake spire-agent over TCP, configured against a fake kubelet, attesting a process
#     in a container job, and shut down.
# The JUnit reports of both runs are merged into the --junit-path file.
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

DENO=${DENO:-deno}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The Windows suites under deno.exe. --no-config: they use only node: built-ins and relative imports,
#    and deno.exe must not touch the Linux-installed node_modules/ or deno.lock.
deno_exe test -A --no-config --no-prompt "--junit-path=$(to_wine_path "$work/windows.xml")" "${args[@]}" \
  tests/windows/ tests/wine/winapi_ffi_wine.ts tests/wine/job_lookup_wine.ts tests/wine/locate_cli_wine.ts </dev/null
rc=$?

# 2. The plugin under Wine, driven from Linux. The plugin runs from a bundle of mod.ts (what a Windows
#    install without `deno compile` ships), so deno.exe needs no node_modules.
bundle=$K8S_ATTESTOR_WINE_DIR/k8s-attestor.js
if "$DENO" bundle --quiet --platform=deno -o "$bundle" mod.ts >&2; then
  K8S_ATTESTOR_WINE64=$WINE64 K8S_ATTESTOR_DENO_EXE=$DENO_EXE K8S_ATTESTOR_VMCOMPUTE_EXE_UNIX=$vmcompute \
    K8S_ATTESTOR_WINE_BUNDLE=$bundle \
    "$DENO" test -A --no-prompt "--junit-path=$work/plugin.xml" "${args[@]}" tests/wine/plugin_wine.ts </dev/null
  plugin_rc=$?
else
  echo "test_wine: deno bundle mod.ts failed; the plugin suite counts as failed" >&2
  plugin_rc=1
fi
((plugin_rc != 0 && rc == 0)) && rc=$plugin_rc

# 3. One JUnit report. A run that produced no report counts as one failed test case.
if [[ -n $junit ]]; then
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuites name="wine">'
    for part in windows plugin; do
      if [[ -s $work/$part.xml ]]; then
        sed -e '/^<?xml/d' -e '/<testsuites[ >]/d' -e '/<\/testsuites>/d' "$work/$part.xml"
      else
        echo "  <testsuite name=\"$part\" tests=\"1\" failures=\"1\"><testcase name=\"$part suite ran\"><failure message=\"no JUnit report\"/></testcase></testsuite>"
      fi
    done
    echo '</testsuites>'
  } >"$junit"
fi

# deno.exe under Wine can leave ~97 MB node.exe.tmp-<pid> files behind; never let them pile up.
find "$WINEPREFIX" -name 'node.exe.tmp-*' -delete 2>/dev/null || true
exit $rc
