#!/usr/bin/env bash
# Builds tools/gohost (the go-plugin/grpc-go interop host) into .gohost/gohost, offline, from Debian
# packages. Idempotent: installs the apt packages only when missing, rebuilds with Go's build cache.
# Everything is printed to stderr. Exit 0 on success, non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== gohost_setup: %s\n' "$*" >&2; }

PACKAGES=(golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing packages ${missing[*]} and no apt-get on this machine"
    exit 1
  fi
  # Refresh the package lists only when apt does not know a package yet.
  for pkg in "${missing[@]}"; do
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
      log "apt-get update (apt does not know $pkg)"
      apt-get update -qq >&2
      break
    fi
  done
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

GO=/usr/bin/go
[[ -x "$GO" ]] || GO="$(command -v go)"
log "$("$GO" version)"

out_dir="$PWD/.gohost"
mkdir -p "$out_dir/gopath"
# No stale host from an earlier build: if this build fails, tests/gohost must not run an old binary.
rm -f "$out_dir/gohost" "$out_dir/gofloor"
# GOPATH mode: the Debian packages live under /usr/share/gocode; nothing is fetched.
# gohost: the interop host (and, as `gohost bench`, the benchmark host); gofloor: the fixed-answer floor
# plugin that `deno task bench:table` measures the plugin against.
for tool in gohost gofloor; do
  GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$out_dir/gopath:/usr/share/gocode" \
    GOCACHE="$out_dir/cache" \
    "$GO" build -o "$out_dir/$tool.tmp" "./tools/$tool" >&2
  mv -f "$out_dir/$tool.tmp" "$out_dir/$tool"
  log "built $out_dir/$tool"
done
