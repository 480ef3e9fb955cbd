#!/usr/bin/env bash
# poolvc's local devnet: a Lodestar 1.5.1 beacon node in dev mode (minimal preset, 2-second slots,
# Altair/Bellatrix/Capella at genesis, mock execution engine, no validators of its own) and poolvc
# running every genesis validator through the Beacon API.
#
# Usage:
#   scripts/devnet.sh [run] [--validators N] [--run-dir DIR] [--rest-port PORT] [--duration SECS]
#                           [--no-withdrawal-change]
#       Install Lodestar (cached), build poolvc, write N interop keystores and a devnet oracle
#       key, start Lodestar with genesis ~25 s ahead, start poolvc before genesis, and print
#       poolvc's epoch summaries (duties, inclusion, proposals, sync participation,
#       justified/finalized) until Ctrl-C or --duration (seconds; for scripted runs). Everything
#       started is stopped on exit (process groups), nothing is orphaned.
#       poolvc runs with the pool registry (a copy of ${POOLVC_DEVNET_REGISTRY:-
#       scripts/devnet/registry.toml} in the run directory: edit it while running, poolvc reloads
#       it; changes apply from the next frame), accounts every finalized epoch, builds the frame
#       reports (4-epoch frames) and signs the final ones with the oracle key, and serves the
#       reports API, the auditors' dashboard (REST port + 1) and /metrics (REST port + 2) on
#       127.0.0.1. The script prints these URLs, the oracle public key and the
#       `poolvc report verify` command line, and verifies each report as it appears
#       (recomputed from the beacon node, signature checked against the oracle key).
#       The oracle key (RUN/oracle/: EIP-2335 keystore and random password, both 0600) is made
#       by `poolvc keys oracle` on the first run in a run directory and kept after. It signs
#       the pool's reports (it is not a validator key); it is a devnet key: never reuse it.
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
VERIFY=()
# `poolvc report verify` with every option but the report file.
VERIFY_CMD=()
cleanup() {
  local status=$?
  trap - INT TERM EXIT
  for pid in "${VERIFY[@]}" "${AUX[@]}" "${PIDS[@]}"; do
    # Each child leads its own process group: stop the whole group.
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${VERIFY[@]}" "${AUX[@]}" "${PIDS[@]}"; do
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

# Prints the devnet oracle key's public key, creating the key (`poolvc keys oracle`: keystore
# and random password, 0600) when the run directory has none yet.
oracle_key() {
  local poolvc="$1" run_dir="$2" keystore="$3" password="$4" hex
  if [[ -f "$keystore" && -f "$password" ]]; then
    hex="$(grep -o '"pubkey": *"[0-9a-fA-F]*"' "$keystore" | grep -o '[0-9a-fA-F]\{96\}')" \
      || { log "cannot read the public key of $keystore"; return 1; }
    log "oracle key: reusing $keystore"
    echo "0x$hex"
    return 0
  fi
  if [[ -e "$keystore" || -e "$password" ]]; then
    log "$run_dir/oracle holds a keystore or a password but not both: remove it or use another --run-dir"
    return 1
  fi
  mkdir -p "$run_dir/oracle" && chmod 700 "$run_dir/oracle"
  log "writing a devnet oracle key (signs the pool's reports; not a validator key)"
  "$poolvc" keys oracle --kdf pbkdf2 --keystore "$keystore" --password-file "$password" \
    2>"$run_dir/oracle.log"
}

# Frames of the reports poolvc has logged so far (final or withheld), in order.
reported_frames() {
  grep -E 'pool report' "$1" 2>/dev/null | grep -oE '\bframe=[0-9]+' | cut -d= -f2 | sort -nu || true
}

# Fetches the canonical report of frame $1 and runs `poolvc report verify` on it (in the
# background: recomputing takes a few seconds; at the lowest CPU priority, so that the beacon
# node and poolvc's duties keep the cores); prints the verdict lines.
verify_report() {
  local frame="$1" run_dir="$2" reports_url="$3"
  local file="$run_dir/reports/report-$frame.json"
  if ! command -v curl >/dev/null; then
    log "report of frame $frame: install curl to have it verified here"
    return 0
  fi
  if ! curl -sf "$reports_url/pool/v1/reports/$frame/canonical" -o "$file"; then
    log "report of frame $frame: not served yet by the reports API"
    return 0
  fi
  log "report of frame $frame: verifying it ($(printf '%q ' "${VERIFY_CMD[@]}" "$file"))"
  setsid bash -c '{ nice -n 19 "$@" 2>"$0.log" || echo "verification failed (exit $?; details in $0.log)"; } \
    | sed "s/^/[devnet]   /" >&2' "$file.verify" "${VERIFY_CMD[@]}" "$file" &
  VERIFY+=($!)
}

# Waits (at most $1 seconds) for the report verifications still running.
wait_verifications() {
  local deadline=$(( SECONDS + $1 )) pid
  for pid in "${VERIFY[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [[ $SECONDS -lt $deadline ]]; do
      sleep 1
    done
  done
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
  local oracle_keystore="$run_dir/oracle/oracle-keystore.json"
  local oracle_password="$run_dir/oracle/oracle-password.txt"
  local oracle_pubkey
  oracle_pubkey="$(oracle_key "$poolvc" "$run_dir" "$oracle_keystore" "$oracle_password")" \
    || die "no oracle key (see $run_dir/oracle.log)"

  trap cleanup INT TERM EXIT
  local genesis_time=$(( $(date +%s) + 25 ))
  setsid "$0" beacon --run-dir "$run_dir" --rest-port "$rest_port" \
    --validators "$validators" --genesis-time "$genesis_time" \
    >"$run_dir/beacon.log" 2>&1 &
  PIDS+=($!)
  # poolvc waits for the REST API and must run before genesis: with no block for an epoch the
  # peerless node believes it is syncing and refuses duties for good. No doppelganger wait:
  # the chain and the keys are this run's own (before genesis poolvc would release the keys at
  # once anyway, but a busy machine can bring Lodestar's API up after genesis, and holding
  # every key for two epochs would stall the chain for good).
  local reports_port=$((rest_port + 1)) metrics_port=$((rest_port + 2))
  setsid "$poolvc" run --datadir "$run_dir/poolvc" \
    --beacon-nodes "http://127.0.0.1:$rest_port" \
    --keystores "$run_dir/keys" --secrets "$run_dir/secrets" \
    --registry "$run_dir/registry.toml" --graffiti "poolvc devnet" --doppelganger-epochs 0 \
    --oracle-keystore "$oracle_keystore" --oracle-password-file "$oracle_password" \
    --reports --reports-port "$reports_port" --metrics --metrics-port "$metrics_port" \
    >"$run_dir/poolvc.out" 2>"$run_dir/poolvc.log" &
  PIDS+=($!)
  log "run directory: $run_dir (beacon.log, poolvc.log, registry.toml, oracle/)"
  log "genesis at $(date -d "@$genesis_time" '+%T'); epochs last 16 s; finality expected about 90 s after genesis;"
  log "the first report (frame 0: epochs 1-4) about 130 s after genesis, then one every 64 s"
  local beacon_url="http://127.0.0.1:$rest_port" reports_url="http://127.0.0.1:$reports_port"
  VERIFY_CMD=("$poolvc" report verify --beacon-node "$beacon_url" --pool-api "$reports_url"
    --registry "$run_dir/registry.toml" --oracle-pubkey "$oracle_pubkey")
  log "------------------------------------------------------------------------------"
  log "where to look"
  log "  dashboard    $reports_url/dashboard/"
  log "  reports API  $reports_url/pool/v1/reports  (one report: $reports_url/pool/v1/reports/{frame})"
  log "  metrics      http://127.0.0.1:$metrics_port/metrics"
  log "  beacon node  $beacon_url"
  log "  oracle key   $oracle_pubkey"
  log "               (signs the pool's final reports; devnet only; keystore and password in $run_dir/oracle/)"
  log "verify a report (frame N) from the beacon node alone, signature included:"
  log "  curl -s $reports_url/pool/v1/reports/N/canonical > report-N.json"
  log "  $(printf '%q ' "${VERIFY_CMD[@]}")report-N.json"
  log "------------------------------------------------------------------------------"
  setsid bash -c 'tail -n +1 -F "$1" 2>/dev/null \
    | grep --line-buffered -E "epoch summary|validator client started|oracle key loaded|pool report|registry reloaded|ERROR|doppelganger"' \
    _ "$run_dir/poolvc.log" &
  AUX+=($!)
  local started=$SECONDS
  # Reports are verified as they appear (frames seen in poolvc's "pool report" lines).
  local verified=" "
  mkdir -p "$run_dir/reports"
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
    local frame
    for frame in $(reported_frames "$run_dir/poolvc.log"); do
      [[ "$verified" == *" $frame "* ]] && continue
      verified+="$frame "
      verify_report "$frame" "$run_dir" "$reports_url"
    done
    if [[ -n "$duration" && $(( SECONDS - started )) -ge "$duration" ]]; then
      log "duration of ${duration}s reached"
      wait_verifications 90
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
