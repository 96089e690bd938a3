#!/usr/bin/env bash
# Generates src/gen from proto/ with the generators pinned in tools/protogen (buf and ts-proto, with
# package-lock.json), installed from npm with `npm ci` into a fresh temporary directory: nothing global
# is used or left behind. `deno task gen:proto` runs it.
# usage: scripts/gen_proto.sh          regenerate src/gen (replaced entirely, so stale files go)
#        scripts/gen_proto.sh --check  regenerate into the temporary directory and compare with src/gen;
#                                      exit 1 and print the difference when they differ
# Exits 77 when the generators cannot be installed (no npm, or the npm registry is unreachable).
set -uo pipefail
cd "$(dirname "$0")/.."

log() { printf '== gen_proto: %s\n' "$*" >&2; }

case ${1:-} in
  "") check=false ;;
  --check) check=true ;;
  *) echo "usage: scripts/gen_proto.sh [--check]" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/k8s-attestor-gen-proto.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: cannot install buf and ts-proto"
  exit 77
fi
cp tools/protogen/package.json tools/protogen/package-lock.json "$work/"
# npm checks every package against the lockfile's integrity hashes. --ignore-scripts: buf's postinstall only
# re-checks its binary; the platform package (@bufbuild/buf-<os>-<arch>) already holds it.
if ! (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
  log "npm ci failed: cannot install buf and ts-proto (tools/protogen/package-lock.json)"
  exit 77
fi
export PATH="$work/node_modules/.bin:$PATH" BUF_CACHE_DIR="$work/buf-cache"

# buf.gen.yaml writes to ../src/gen relative to proto/, so generating in a copy of proto/ puts the output
# in $work/tree/src/gen.
mkdir -p "$work/tree"
cp -R proto "$work/tree/proto"
if ! (cd "$work/tree/proto" && buf generate >&2); then
  log "buf generate failed"
  exit 1
fi
generated="$work/tree/src/gen"

if $check; then
  if diff -ru src/gen "$generated" >"$work/diff"; then
    log "src/gen matches proto/ ($(find src/gen -type f | wc -l) files)"
    exit 0
  fi
  head -n 200 "$work/diff" >&2
  log "FAILED: src/gen differs from what proto/ generates (above, first 200 lines); run: deno task gen:proto"
  exit 1
fi

rm -rf src/gen
cp -R "$generated" src/gen
log "regenerated src/gen ($(find src/gen -type f | wc -l) files)"
