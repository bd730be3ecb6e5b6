#!/usr/bin/env bash
# Run the whole test suite: installs the EVM toolchain (npm solc, forge,
# anvil) and the Python venv (onnx's node tests) into .tools/ first, builds
# the Foundry contracts, runs cargo test (which includes on-chain tests
# against anvil), forge test, and the Python package's tests and example
# (scripts/test-python.sh), a split model proven through a local Ray
# cluster (scripts/test-ray.sh), and prints a closing "N passed, M failed" line
# over all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
scripts/install-evm-tools.sh
# onnx (its backend node tests drive tests/conformance.rs), onnxruntime, numpy.
scripts/setup-python.sh >/dev/null
log=$(mktemp)
# The cargo and Python steps get a scratch TMPDIR, removed after each: the
# fixtures shared through statics remove their directories when their test
# binary exits (tests/common::shared_tempdir), but a killed or crashed
# binary does not, and pytest keeps its own temporary directories.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/zkml-evm-tests.XXXXXX")
trap 'rm -rf "$log" "$scratch"' EXIT
# The aggregation fixtures write proving keys of a few GB each.
free_gb=$(df -Pk "$scratch" | awk 'NR == 2 { print int($4 / 1048576) }')
if [ "$free_gb" -lt 15 ]; then
  echo "warning: only ${free_gb} GB free under $scratch; the suite needs about 15 GB of scratch space" >&2
fi
set +e
.tools/bin/forge build --offline 2>&1 | tee -a "$log"
forge_build=${PIPESTATUS[0]}
# --no-fail-fast: one failing test binary must not hide the others.
TMPDIR="$scratch" cargo test --no-fail-fast --lib --bins --tests "$@" 2>&1 | tee -a "$log"
cargo_status=${PIPESTATUS[0]}
rm -rf "${scratch:?}"/* "${scratch:?}"/.[!.]* 2>/dev/null
scripts/forge-test.sh 2>&1 | tee -a "$log"
forge_status=${PIPESTATUS[0]}
TMPDIR="$scratch" scripts/test-python.sh 2>&1 | tee -a "$log"
python_status=${PIPESTATUS[0]}
rm -rf "${scratch:?}"/* "${scratch:?}"/.[!.]* 2>/dev/null
scripts/test-ray.sh 2>&1 | tee -a "$log"
ray_status=${PIPESTATUS[0]}
set -e
# cargo: "test result: ok. 25 passed; 0 failed; ..."; forge: "... 24 tests passed, 0 failed, 0 skipped ..."
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^Ran [0-9]+ test suites/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "tests" && $(i+2) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
# A step can fail without a tally line (a build error, a crashed binary):
# name it, so the count above is never read as the whole story.
status=0
for step in "forge build:$forge_build" "cargo test:$cargo_status" "forge test:$forge_status" \
            "python:$python_status" "ray:$ray_status"; do
  s=${step##*:}
  if [ "$s" -ne 0 ]; then
    echo "step failed: ${step%:*} (exit $s)"
    [ "$status" -ne 0 ] || status=$s
  fi
done
exit "$status"

