#!/usr/bin/env bash
# Creates the project-local Python venv .tools/venv with the packages used by
# scripts/export_rockybot.py and for inspecting test-vectors (onnx, onnxruntime, numpy).
# Idempotent: skips everything when the venv already has the pinned versions.
set -euo pipefail

PINS=(
  "numpy==2.3.5"
  "onnx==1.20.1"
  "onnxruntime==1.23.2"
)

usage() {
  cat <<EOF
Usage: scripts/setup-python.sh [--force] [--help]

Creates <repo>/.tools/venv (gitignored) and installs: ${PINS[*]}
  --force   recreate the venv from scratch
Environment: PYTHON (default: python3; must be >= 3.10)
Use it as:   .tools/venv/bin/python scripts/export_rockybot.py
EOF
}

FORCE=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    -f|--force) FORCE=1 ;;
    *) echo "error: unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/venv"
PY="$VENV/bin/python"
STAMP="$VENV/.zkml-evm-pins"
PYTHON="${PYTHON:-python3}"
want="$(printf '%s\n' "${PINS[@]}")"

# true when every pin is installed at exactly that version
pins_ok() {
  [[ -x "$PY" ]] || return 1
  "$PY" - "${PINS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, ver = pin.split("==")
    if version(name) != ver:
        sys.exit(1)
import numpy, onnx, onnxruntime  # noqa: F401  (catch broken installs)
EOF
}

if [[ $FORCE == 1 ]]; then rm -rf "$VENV"; fi

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && pins_ok; then
  echo "==> $VENV already has: ${PINS[*]}"
else
  if [[ ! -x "$PY" ]]; then
    echo "==> creating venv $VENV (with $("$PYTHON" --version 2>&1))"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
  fi
  echo "==> installing ${PINS[*]}"
  "$PY" -m pip install --disable-pip-version-check --quiet "${PINS[@]}"
  pins_ok || { echo "error: pinned packages not importable after install" >&2; exit 1; }
  printf '%s\n' "$want" > "$STAMP"
fi

"$PY" -c 'import sys, numpy, onnx, onnxruntime as ort; print(f"python {sys.version.split()[0]}  numpy {numpy.__version__}  onnx {onnx.__version__}  onnxruntime {ort.__version__}")'
echo "python: $PY"
