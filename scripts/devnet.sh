#!/usr/bin/env bash
# poolvc's local devnet: a Lodestar 1.5.1 beacon node in dev mode (minimal preset, 2-second slots,
# Altair/Bellatrix/Capella at genesis, mock execution engine, no validators of its own) and poolvc
# running every genesis validator through the Beacon API.
#
# Usage:
#   scripts/devnet.sh [run] [--validators N] [--run-dir DIR] [--rest-port PORT] [--duration SECS]
#                           [--no-withdrawal-change]
#       Install Lodestar (cached), build poolvc, write N interop keystores, start Lodestar with
#       genesis ~25 s ahead, start poolvc before genesis, and print poolvc's epoch summaries
#       (duties, inclusion, proposals, sync participation, justified/finalized) until Ctrl-C or
#       --duration. Everything started is stopped on exit (process groups), nothing is orphaned.
#       poolvc runs with the pool registry (a copy of ${POOLVC_DEVNET_REGISTRY:-
#       scripts/devnet/registry.toml} in the run directory: edit it while running, poolvc reloads
#       it; changes apply from the next frame), accounts every finalized epoch, prints the
#       frame reports (4-epoch frames) and serves the reports API, the auditors' dashboard
#       (REST port + 1) and /metrics (REST port + 2) on 127.0.0.1.
#       Just after genesis, every validator's BLS withdrawal credentials are changed to the pool's
#       withdrawal address (`poolvc credentials set-withdrawal-address`, the registry's address),
#       and the script reports when the chain shows them as 0x01. --no-withdrawal-change (or
#       POOLVC_DEVNET_WITHDRAWAL_CHANGE=0) skips this.
#   scripts/devnet.sh install
#       Install the pinned Lodestar into ${POOLVC_DEVNET_CACHE:-~/.cache/poolvc/lodestar-1.5.1}
#       (npm ci + patch; idempotent) and verify the patch.
#   scripts/devnet.sh beacon --run-dir DIR [--rest-port PORT] [--p2p-port PORT]
#                            [--validators N] [--genesis-time UNIX | --genesis-delay SECS]
#                            [--param KEY=VALUE]...
#       Run the beacon node in the foreground (exec: signals go straight to Lodestar).
#       --param (repeatable) passes a chain config value to Lodestar (--params.KEY VALUE), e.g.
#       --param SHARD_COMMITTEE_PERIOD=1 so validators may exit one epoch after genesis; the
#       values the script sets itself (slot time, fork epochs) cannot be overridden.
#
# Loopback only: REST on 127.0.0.1, p2p on 127.0.0.1 with discovery off.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIT="$ROOT/scripts/devnet"
CACHE="${POOLVC_DEVNET_CACHE:-$HOME/.cache/poolvc/lodestar-1.5.1}"
MARKER="$CACHE/.poolvc-installed"
# The pool registry: its vault is the fee recipient every block must pay, its withdrawal
# credentials the address the validators' credentials are changed to.
REGISTRY="${POOLVC_DEVNET_REGISTRY:-$KIT/registry.toml}"

log() { printf '[devnet] %s\n' "$*" >&2; }
die() { printf '[devnet] error: %s\n' "$*" >&2; exit 1; }

kit_digest() {
  cat "$KIT/lodestar/package.json" "$KIT/lodestar/package-lock.json" "$KIT/patch-lodestar.mjs" \
    | sha256sum | cut -d' ' -f1
}

patch_ok() {
  grep -q "poolvc-devnet-patch" \
    "$CACHE/node_modules/@chainsafe/lodestar/lib/options/beaconNodeOptions/execution.js" 2>/dev/null \
    && grep -q "poolvc-devnet-patch" \
      "$CACHE/node_modules/@lodestar/beacon-node/lib/execution/engine/mock.js" 2>/dev/null
}

cmd_install() {
  command -v node >/dev/null || die "node is required (Node 20)"
  command -v npm >/dev/null || die "npm is required"
  local digest
  digest="$(kit_digest)"
  if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$digest" ]] && patch_ok \
      && [[ -x "$CACHE/node_modules/.bin/lodestar" ]]; then
    log "Lodestar 1.5.1 already installed in $CACHE"
    return 0
  fi
  log "installing Lodestar 1.5.1 into $CACHE (npm ci, about 2 minutes; native modules build from source)"
  mkdir -p "$CACHE"
  rm -f "$MARKER"
  cp "$KIT/lodestar/package.json" "$KIT/lodestar/package-lock.json" "$CACHE/"
  (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed in $CACHE"
  node "$KIT/patch-lodestar.mjs" "$CACHE" || die "patching Lodestar failed"
  patch_ok || die "the patch is not in place after patching"
  "$CACHE/node_modules/.bin/lodestar" --version >/dev/null 2>&1 \
    || die "the installed lodestar does not run"
  echo "$digest" > "$MARKER"
  log "Lodestar installed and patched"
}

# The chain config values cmd_beacon sets itself: a second value would reach Lodestar as a list.
FIXED_PARAMS=(SECONDS_PER_SLOT ALTAIR_FORK_EPOCH BELLATRIX_FORK_EPOCH CAPELLA_FORK_EPOCH)

# Checks one --param KEY=VALUE and prints it as Lodestar's `--params.KEY=VALUE`.
chain_param() {
  local spec="$1" key value fixed
  [[ "$spec" == *=* ]] || die "beacon: --param $spec: expected KEY=VALUE"
  key="${spec%%=*}"
  value="${spec#*=}"
  [[ "$key" =~ ^[A-Z][A-Z0-9_]*$ ]] \
    || die "beacon: --param $spec: KEY must be a chain config name such as SHARD_COMMITTEE_PERIOD"
  [[ -n "$value" && "$value" =~ ^[A-Za-z0-9_x.-]+$ ]] \
    || die "beacon: --param $spec: VALUE must be a non-empty number, hex or name"
  for fixed in "${FIXED_PARAMS[@]}"; do
    [[ "$key" != "$fixed" ]] || die "beacon: --param $key: the script sets $key itself"
  done
  printf -- '--params.%s=%s' "$key" "$value"
}

cmd_beacon() {
  local run_dir="" rest_port=9596 p2p_port="" validators=64 genesis_time="" delay=25
  local params=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --param)
        [[ $# -ge 2 ]] || die "beacon: --param needs KEY=VALUE"
        params+=("$(chain_param "$2")"); shift 2 ;;
      --run-dir) run_dir="$2"; shift 2 ;;
      --rest-port) rest_port="$2"; shift 2 ;;
      --p2p-port) p2p_port="$2"; shift 2 ;;
      --validators) validators="$2"; shift 2 ;;
      --genesis-time) genesis_time="$2"; shift 2 ;;
      --genesis-delay) delay="$2"; shift 2 ;;
      *) die "beacon: unknown option $1" ;;
    esac
  done
  [[ -n "$run_dir" ]] || die "beacon: --run-dir is required"
  [[ -n "$p2p_port" ]] || p2p_port=$((rest_port + 10000))
  [[ -n "$genesis_time" ]] || genesis_time=$(( $(date +%s) + delay ))
  patch_ok || die "Lodestar is not installed in $CACHE: run scripts/devnet.sh install"
  mkdir -p "$run_dir/beacon"
  cd "$run_dir/beacon"
  log "Lodestar: genesis at $(date -d "@$genesis_time" '+%T') ($genesis_time), $validators validators, REST 127.0.0.1:$rest_port"
  LODESTAR_PRESET=minimal exec "$CACHE/node_modules/.bin/lodestar" dev \
    --dataDir "$run_dir/beacon/data" \
    --genesisValidators "$validators" --genesisTime "$genesis_time" \
    --params.SECONDS_PER_SLOT 2 --params.ALTAIR_FORK_EPOCH 0 \
    --params.BELLATRIX_FORK_EPOCH 0 --params.CAPELLA_FORK_EPOCH 0 \
    --execution.engineMock \
    --rest.address 127.0.0.1 --rest.port "$rest_port" --rest.namespace '*' \
    --listenAddress 127.0.0.1 --port "$p2p_port" --discv5 false \
    ${params[@]+"${params[@]}"}
}

PIDS=()
AUX=()
cleanup() {
  local status=$?
  trap - INT TERM EXIT
  for pid in "${AUX[@]}" "${PIDS[@]}"; do
    # Each child leads its own process group: stop the whole group.
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${AUX[@]}" "${PIDS[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  log "stopped"
  exit "$status"
}

# Points every validator's BLS withdrawal credentials at the pool's address (interop keys are
# both signing and withdrawal keys on the dev chain); prints poolvc's summary line.
change_withdrawal_credentials() {
  local poolvc="$1" run_dir="$2" rest_port="$3" validators="$4"
  local target=(--registry "$run_dir/registry.toml")
  local summary
  if summary="$("$poolvc" credentials set-withdrawal-address \
      --beacon-node "http://127.0.0.1:$rest_port" "${target[@]}" \
      --interop-count "$validators" 2>"$run_dir/credentials.log")"; then
    log "withdrawal credentials: $summary"
  else
    log "withdrawal credential change failed: ${summary:-see $run_dir/credentials.log}"
  fi
}

# How many validators the head state shows with 0x01 credentials (empty when unknown).
count_execution_credentials() {
  local rest_port="$1" body
  command -v curl >/dev/null || return 0
  body="$(curl -sf "http://127.0.0.1:$rest_port/eth/v1/beacon/states/head/validators" 2>/dev/null)" \
    || { echo 0; return 0; }
  grep -o '"withdrawal_credentials":"0x01' <<<"$body" | wc -l || true
}

cmd_run() {
  local validators=64 run_dir="" rest_port=9596 duration=""
  local withdrawal_change="${POOLVC_DEVNET_WITHDRAWAL_CHANGE:-1}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --validators) validators="$2"; shift 2 ;;
      --run-dir) run_dir="$2"; shift 2 ;;
      --rest-port) rest_port="$2"; shift 2 ;;
      --duration) duration="$2"; shift 2 ;;
      --no-withdrawal-change) withdrawal_change=0; shift ;;
      *) die "run: unknown option $1" ;;
    esac
  done
  [[ -n "$run_dir" ]] || run_dir="$ROOT/target/devnet/run-$(date +%Y%m%d-%H%M%S)"
  mkdir -p "$run_dir"
  run_dir="$(cd "$run_dir" && pwd)"
  cmd_install

  local profile="${POOLVC_PROFILE:-dev}"
  log "building poolvc ($profile profile)"
  (cd "$ROOT" && cargo build --profile "$profile" -p validator --bin poolvc) \
    || die "cargo build failed"
  local target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  local dir="$profile"
  [[ "$profile" == "dev" ]] && dir=debug
  local poolvc="$target_dir/$dir/poolvc"
  [[ -x "$poolvc" ]] || die "no poolvc binary at $poolvc"

  # Every run is a new chain: a slashing database or beacon data of an earlier chain with the
  # same validators (same genesis validators root) would refuse or confuse this one.
  if [[ -d "$run_dir/poolvc" || -d "$run_dir/beacon" ]]; then
    log "removing the previous chain's data in $run_dir (keys are kept)"
    rm -rf "$run_dir/poolvc" "$run_dir/beacon"
  fi
  if [[ -d "$run_dir/keys" ]] \
      && [[ "$(find "$run_dir/keys" -maxdepth 1 -name '*.json' | wc -l)" -ne "$validators" ]]; then
    die "$run_dir/keys holds another number of keystores than --validators $validators: use another --run-dir"
  fi
  [[ -f "$REGISTRY" ]] || die "no registry at $REGISTRY"
  cp "$REGISTRY" "$run_dir/registry.toml"
  if [[ ! -d "$run_dir/keys" ]]; then
    log "writing $validators interop keystores (public keys: devnet only)"
    "$poolvc" keys interop --count "$validators" --kdf pbkdf2 \
      --keystores "$run_dir/keys" --secrets "$run_dir/secrets" >/dev/null 2>"$run_dir/keys.log" \
      || die "key generation failed (see $run_dir/keys.log)"
  fi

  trap cleanup INT TERM EXIT
  local genesis_time=$(( $(date +%s) + 25 ))
  setsid "$0" beacon --run-dir "$run_dir" --rest-port "$rest_port" \
    --validators "$validators" --genesis-time "$genesis_time" \
    >"$run_dir/beacon.log" 2>&1 &
  PIDS+=($!)
  # poolvc waits for the REST API and must run before genesis: with no block for an epoch the
  # peerless node believes it is syncing and refuses duties for good.
  local reports_port=$((rest_port + 1)) metrics_port=$((rest_port + 2))
  setsid "$poolvc" run --datadir "$run_dir/poolvc" \
    --beacon-nodes "http://127.0.0.1:$rest_port" \
    --keystores "$run_dir/keys" --secrets "$run_dir/secrets" \
    --registry "$run_dir/registry.toml" --graffiti "poolvc devnet" \
    --reports --reports-port "$reports_port" --metrics --metrics-port "$metrics_port" \
    >"$run_dir/poolvc.out" 2>"$run_dir/poolvc.log" &
  PIDS+=($!)
  log "run directory: $run_dir (beacon.log, poolvc.log, registry.toml)"
  log "genesis at $(date -d "@$genesis_time" '+%T'); epochs last 16 s; finality expected about 90 s after genesis"
  log "dashboard http://127.0.0.1:$reports_port/dashboard/  reports API http://127.0.0.1:$reports_port/pool/v1/reports  metrics http://127.0.0.1:$metrics_port/metrics"
  setsid bash -c 'tail -n +1 -F "$1" 2>/dev/null \
    | grep --line-buffered -E "epoch summary|validator client started|pool report|registry reloaded|ERROR|doppelganger"' \
    _ "$run_dir/poolvc.log" &
  AUX+=($!)
  local started=$SECONDS
  # Credential changes: sent two slots after genesis, then watched until included (or 2 min).
  local change_state="pending" change_sent=0
  [[ "$withdrawal_change" == "0" ]] && change_state="off"
  while true; do
    for pid in "${PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        die "a process stopped unexpectedly (see $run_dir/beacon.log and $run_dir/poolvc.log)"
      fi
    done
    if [[ "$change_state" == "pending" && $(date +%s) -ge $(( genesis_time + 4 )) ]]; then
      change_withdrawal_credentials "$poolvc" "$run_dir" "$rest_port" "$validators"
      change_state="sent"
      change_sent=$SECONDS
    elif [[ "$change_state" == "sent" && $(( (SECONDS - change_sent) % 4 )) -eq 0 ]]; then
      local changed
      changed="$(count_execution_credentials "$rest_port")"
      if [[ -z "$changed" ]]; then
        change_state="done"
      elif [[ "$changed" -ge "$validators" ]]; then
        log "withdrawal credentials: all $validators validators now 0x01 in the head state"
        change_state="done"
      elif [[ $(( SECONDS - change_sent )) -ge 120 ]]; then
        log "withdrawal credentials: $changed of $validators validators 0x01 after 2 minutes"
        change_state="done"
      fi
    fi
    if [[ -n "$duration" && $(( SECONDS - started )) -ge "$duration" ]]; then
      log "duration of ${duration}s reached"
      break
    fi
    sleep 1
  done
}

main() {
  local command="run"
  if [[ $# -gt 0 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then
    command="help"
    shift
  elif [[ $# -gt 0 && "$1" != --* ]]; then
    command="$1"
    shift
  fi
  case "$command" in
    install) cmd_install "$@" ;;
    beacon) cmd_beacon "$@" ;;
    run) cmd_run "$@" ;;
    help) sed -n '2,/^set -euo pipefail$/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command $command (install | beacon | run)" ;;
  esac
}

main "$@"
