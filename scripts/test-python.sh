#!/usr/bin/env bash
# Builds the Python package into a fresh virtual environment with
# `pip install .` (maturin, the cargo dev profile, the shared
# $CARGO_TARGET_DIR), then runs its tests (python/tests) and the round-trip
# example (examples/python_roundtrip.py, which deploys to anvil from .tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
venv=.tools/python-package
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# onnx at the version scripts/setup-python.sh pins, not whatever is newest.
"$venv/bin/pip" install -q . "onnx==1.20.1"
"$venv/bin/python" python/tests/run.py
"$venv/bin/python" examples/python_roundtrip.py
