#!/usr/bin/env bash
# Run the whole test suite: installs the EVM toolchain (npm solc, forge,
# anvil) into .tools/ first, then runs cargo test and prints a closing
# "N passed, M failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
scripts/install-evm-tools.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --lib --bins --tests "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
