# Shared settings for running the Windows build of Deno under Wine (sourced by scripts/wine_setup.sh and
# scripts/test_wine.sh; not executable on its own). Everything lives under $K8S_ATTESTOR_WINE_DIR, which
# defaults to <repo>/.wine (git-ignored). Paths here are absolute Linux paths.
# shellcheck shell=bash

K8S_ATTESTOR_REPO=${K8S_ATTESTOR_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
K8S_ATTESTOR_WINE_DIR=${K8S_ATTESTOR_WINE_DIR:-$K8S_ATTESTOR_REPO/.wine}
DENO_WIN_VERSION=2.9.6
DENO_EXE=$K8S_ATTESTOR_WINE_DIR/deno-$DENO_WIN_VERSION/deno.exe
SHIM_DLL=$K8S_ATTESTOR_WINE_DIR/build/bcryptprimitives.dll

export WINEPREFIX=$K8S_ATTESTOR_WINE_DIR/prefix
export WINEARCH=win64
export WINEDEBUG=${WINEDEBUG:--all}
# Without this, every deno.exe start under Wine leaves a ~97 MB node.exe.tmp-<pid> in the prefix.
export DENO_DISABLE_NODE_SHIM=1
export DENO_NO_UPDATE_CHECK=1
export NO_COLOR=1
export RUST_BACKTRACE=0

# Debian 12 has no /usr/bin/wine64; the real loader and server live in /usr/lib/wine.
WINE64=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver
[[ -x $WINESERVER ]] || WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver64)

# wine_ready: true when Wine, the prefix, the shim and deno.exe are all in place.
wine_ready() {
  [[ -x $WINE64 && -f $WINEPREFIX/system.reg && -f $DENO_EXE &&
    -f $WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll ]]
}

# to_wine_path <linux path>: the Z: drive path Wine maps it to.
to_wine_path() {
  local p
  p=$(realpath -m "$1")
  printf 'Z:%s' "${p//\//\\}"
}

# deno_exe <args...>: runs the Windows deno.exe under Wine, with its cache (DENO_DIR) inside our directory
# rather than in the prefix's user profile. Linux environment variables pass through to it.
deno_exe() {
  DENO_DIR=$(to_wine_path "$K8S_ATTESTOR_WINE_DIR/deno-dir") "$WINE64" "$DENO_EXE" "$@"
}
