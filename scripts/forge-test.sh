#!/usr/bin/env bash
# Runs the Foundry tests of the example contracts (contracts/test) offline with the
# project's wasm solc: installs solc/forge/anvil into .tools/ first if needed (npm, once).
# The tests use the committed fixtures contracts/test/fixtures/*.json (regenerate them with
# scripts/make-fixtures.sh); no Rust build is needed.
#
# Runs with --isolate so that every call from a test is its own transaction: the logged
# "gas ..." lines and the gas report then include the 21000 base cost, calldata and cold
# storage, i.e. what a user pays. Extra arguments go to `forge test`, e.g.
#   scripts/forge-test.sh --gas-report
#   scripts/forge-test.sh --match-test test_replayReverts -vvvv
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-evm-tools.sh >/dev/null
exec .tools/bin/forge test --offline --isolate -vv "$@"
