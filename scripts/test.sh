#!/usr/bin/env bash
# The full test suite on a fresh machine: conformance vectors, both slashing-protection backends,
# the devnet end-to-end tests (Lodestar) and the dashboard browser test.
# Prepares what the tests need (PostgreSQL, chromium), runs `cargo test --workspace`, prints a summary.
set -uo pipefail
cd "$(dirname "$0")/.."

export VECTORS_DIR="${VECTORS_DIR:-$(cd .. && pwd)/shared/vectors}"
export POOLVC_E2E="${POOLVC_E2E:-1}"
DATABASE_URL="$(bash scripts/ensure-postgres.sh)" || { echo "FAILED: no PostgreSQL available" >&2; exit 1; }
export DATABASE_URL
bash scripts/ensure-chromium.sh || { echo "FAILED: chromium could not be installed" >&2; exit 1; }

log="target/test-output.log"
mkdir -p target
echo "== cargo test --workspace (VECTORS_DIR=$VECTORS_DIR CI=${CI:-} POOLVC_E2E=$POOLVC_E2E)"
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

echo
echo "================ test summary ================"
awk '
  /^     Running / { bin = $2 }
  /^test result:/ {
    gsub(/;/, "");
    for (i = 1; i <= NF; i++) {
      if ($(i+1) == "passed") p += $i;
      if ($(i+1) == "failed") f += $i;
      if ($(i+1) == "ignored") ig += $i;
    }
    suites++
  }
  /^SKIPPED/ { skipped[++ns] = $0 }
  END {
    printf "test binaries: %d   passed: %d   failed: %d   ignored: %d\n", suites, p, f, ig;
    for (i = 1; i <= ns; i++) print "  " skipped[i];
  }' "$log"
grep -E "^(failures:|    [a-zA-Z0-9_:]+$)|panicked at|^error(\[|:)" "$log" | head -40 || true
if [ "$status" -eq 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL (cargo test exit $status)"; fi
exit "$status"
