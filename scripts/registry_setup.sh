#!/usr/bin/env bash
# Installs what the registry tests need from Debian: docker-registry (distribution 2.8, the real OCI
# registry tests/oci and the sigstore tests push to) and apache2-utils (htpasswd, bcrypt, for its Basic
# auth mode). Idempotent: installs only what is missing; refreshes the package lists only when apt does not
# know a package. Everything is printed to stderr. Exit 0 when both are installed, non-zero otherwise.
set -euo pipefail

log() { printf '== registry_setup: %s\n' "$*" >&2; }

PACKAGES=(docker-registry apache2-utils)

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
  for pkg in "${missing[@]}"; do
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
      log "apt-get update (apt does not know $pkg)"
      apt-get update -qq >&2
      break
    fi
  done
  log "installing ${missing[*]}"
  # The package's service must not start: the tests start their own registries on free ports.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
for bin in /usr/bin/docker-registry /usr/bin/htpasswd; do
  [[ -x "$bin" ]] || { log "$bin is missing after the install"; exit 1; }
done
log "$(/usr/bin/docker-registry --version)"
