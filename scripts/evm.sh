#!/usr/bin/env bash
# poolvc's EVM kit: pinned anvil + forge (Foundry 1.7.1, from npm), solc-js and OpenZeppelin's
# contracts, installed from scripts/evm/package-lock.json into a cache outside the tree.
#
# Usage:
#   scripts/evm.sh install
#       Install the kit into ${POOLVC_EVM_CACHE:-~/.cache/poolvc/evm-1.7.1} (npm ci; idempotent:
#       a digest of the kit files marks a complete install) and check that anvil and forge run.
#   scripts/evm.sh build [--check]
#       Compile contracts/src/*.sol with the pinned solc-js into contracts/artifacts/*.json
#       (ABI, creation and runtime bytecode, compiler settings). --check compiles into memory and
#       fails when a checked-in artifact differs (the build is reproducible).
#   scripts/evm.sh anvil [ARGS...]
#       Run the pinned anvil in the foreground (exec), Prague rules, loopback only; extra ARGS are
#       passed on (e.g. --port 8545).
#   scripts/evm.sh forge [ARGS...]
#       Run the pinned forge (exec).
#   scripts/evm.sh path anvil|forge
#       Print the binary's path (for tests and benches).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIT="$ROOT/scripts/evm"
CACHE="${POOLVC_EVM_CACHE:-$HOME/.cache/poolvc/evm-1.7.1}"
MARKER="$CACHE/.poolvc-installed"

log() { printf '[evm] %s\n' "$*" >&2; }
die() { printf '[evm] error: %s\n' "$*" >&2; exit 1; }

kit_digest() {
  cat "$KIT/package.json" "$KIT/package-lock.json" | sha256sum | cut -d' ' -f1
}

bin_path() {
  case "$1" in
    anvil) echo "$CACHE/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ;;
    forge) echo "$CACHE/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" ;;
    *) die "unknown tool $1 (anvil or forge)" ;;
  esac
}

installed() {
  [[ -f "$MARKER" && "$(cat "$MARKER")" == "$(kit_digest)" ]] \
    && [[ -x "$(bin_path anvil)" && -x "$(bin_path forge)" ]] \
    && [[ -f "$CACHE/node_modules/solc/soljson.js" ]]
}

cmd_install() {
  command -v node >/dev/null || die "node is required (Node 20)"
  command -v npm >/dev/null || die "npm is required"
  if installed; then
    log "EVM kit already installed in $CACHE"
    return 0
  fi
  [[ "$(uname -m)" == "x86_64" && "$(uname -s)" == "Linux" ]] \
    || die "the pinned Foundry packages are for linux x86_64"
  mkdir -p "$CACHE"
  # One installer at a time (tests start several at once); the others wait, then find it done.
  exec 9>"$CACHE.lock"
  flock 9
  if installed; then
    log "EVM kit already installed in $CACHE"
    return 0
  fi
  log "installing the EVM kit (anvil, forge 1.7.1, solc-js) into $CACHE"
  rm -f "$MARKER"
  cp "$KIT/package.json" "$KIT/package-lock.json" "$CACHE/"
  (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $CACHE"
  # npm may skip the packages' install scripts: the run bit is set here.
  chmod +x "$(bin_path anvil)" "$(bin_path forge)"
  "$(bin_path anvil)" --version >/dev/null 2>&1 || die "the installed anvil does not run"
  "$(bin_path forge)" --version >/dev/null 2>&1 || die "the installed forge does not run"
  kit_digest > "$MARKER"
  log "EVM kit installed: $("$(bin_path anvil)" --version | head -1)"
}

require_installed() {
  installed || die "the EVM kit is not installed in $CACHE: run scripts/evm.sh install"
}

cmd_build() {
  require_installed
  NODE_PATH="$CACHE/node_modules" exec node "$KIT/build.mjs" "$ROOT/contracts" "$CACHE/node_modules" "$@"
}

cmd_anvil() {
  require_installed
  exec "$(bin_path anvil)" --host 127.0.0.1 --hardfork prague "$@"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    install) cmd_install ;;
    build) cmd_build "$@" ;;
    anvil) cmd_anvil "$@" ;;
    forge) require_installed; exec "$(bin_path forge)" "$@" ;;
    path) [[ $# -eq 1 ]] || die "path needs anvil or forge"; require_installed; bin_path "$1" ;;
    *) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
