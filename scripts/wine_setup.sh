#!/usr/bin/env bash
# Sets up Wine and the Windows build of Deno so scripts/test_wine.sh can run the Windows suite here.
# Idempotent; run as root. Steps (each skipped when already done):
#   1. apt-get update (once) and install wine, wine64 and the mingw-w64 cross compiler;
#   2. fetch @deno/win32-x64@2.9.6 from npm (deno.exe) into .wine/;
#   3. build the shim DLL from tools/wine/bcryptprimitives.c;
#   4. create a 64-bit WINEPREFIX in .wine/prefix and install the shim into its system32;
#   5. start a persistent wineserver (`wineserver -p`) and Wine's services with stdio on /dev/null;
#   6. check that `deno.exe --version` runs.
# Everything is reported on stderr; nothing is printed on stdout. Exit code 0 means ready.
set -euo pipefail
# shellcheck source=../tools/wine/env.sh
source "$(dirname "$0")/../tools/wine/env.sh"

say() { printf 'wine_setup: %s\n' "$*" >&2; }
started=$(date +%s%N)
elapsed() { echo "$((($(date +%s%N) - started) / 1000000)) ms"; }

# 1. packages
need=()
[[ -x $WINE64 ]] || need+=(wine wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64-win32)
if ((${#need[@]})); then
  say "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  say "packages installed ($(elapsed))"
else
  say "wine and mingw-w64 already installed"
fi
[[ -x $WINESERVER ]] || WINESERVER=$(command -v wineserver || true)
[[ -n $WINESERVER && -x $WINESERVER ]] || { say "no wineserver binary found"; exit 1; }

mkdir -p "$K8S_ATTESTOR_WINE_DIR/build"

# 2. deno.exe from npm
if [[ ! -f $DENO_EXE ]]; then
  say "fetching @deno/win32-x64@$DENO_WIN_VERSION from npm"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@deno/win32-x64@$DENO_WIN_VERSION" >/dev/null && tar xzf ./*.tgz)
  [[ -f $tmp/package/deno.exe ]] || { say "the npm package has no deno.exe"; exit 1; }
  mkdir -p "$(dirname "$DENO_EXE")"
  mv "$tmp/package/deno.exe" "$DENO_EXE.part" && mv "$DENO_EXE.part" "$DENO_EXE"
  say "deno.exe stored at $DENO_EXE ($(elapsed))"
else
  say "deno.exe already present"
fi

# 3. shim DLL (rebuilt when the source is newer)
shim_src=$K8S_ATTESTOR_REPO/tools/wine/bcryptprimitives.c
if [[ ! -f $SHIM_DLL || $shim_src -nt $SHIM_DLL ]]; then
  say "building the shim DLL from tools/wine/bcryptprimitives.c"
  x86_64-w64-mingw32-gcc -O2 -s -shared -Wall -o "$SHIM_DLL" "$shim_src" -ladvapi32 -Wl,--kill-at >&2
else
  say "shim DLL up to date"
fi

# 4. prefix
if [[ ! -f $WINEPREFIX/system.reg ]]; then
  say "creating WINEPREFIX $WINEPREFIX"
  mkdir -p "$WINEPREFIX"
  "$WINE64" wineboot --init </dev/null >/dev/null 2>&1 || true
  "$WINESERVER" -w
  [[ -f $WINEPREFIX/system.reg ]] || { say "wineboot did not create the prefix"; exit 1; }
  say "prefix created ($(elapsed))"
else
  say "prefix already exists"
fi
sys32=$WINEPREFIX/drive_c/windows/system32
if ! cmp -s "$SHIM_DLL" "$sys32/bcryptprimitives.dll"; then
  cp "$SHIM_DLL" "$sys32/bcryptprimitives.dll"
  say "shim installed into $sys32"
fi

# 5. a persistent wineserver, and Wine's services started with stdio on /dev/null, so that they do not
#    inherit (and hold open) the stdio of the first deno.exe we start.
"$WINESERVER" -p </dev/null >/dev/null 2>&1 || true
"$WINE64" cmd /c exit </dev/null >/dev/null 2>&1 || true
say "wineserver running persistently for $WINEPREFIX (stop it with: WINEPREFIX=$WINEPREFIX $WINESERVER -k)"

# 6. smoke test
if ! version=$(deno_exe --version </dev/null 2>&1); then
  say "deno.exe does not start under Wine: $version"
  exit 1
fi
say "ready: ${version%%$'\n'*} under $("$WINE64" --version 2>/dev/null || echo wine) ($(elapsed) total)"
