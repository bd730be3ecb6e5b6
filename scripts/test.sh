#!/usr/bin/env bash
# Run the whole test suite: installs the EVM toolchain (npm solc, forge,
# anvil) into .tools/ first, then runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
scripts/install-evm-tools.sh
cargo test --all-targets "$@"
