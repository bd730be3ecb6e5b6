#!/usr/bin/env bash
# Benchmarks pip's ezkl against `zkml-evm bench` on the same models, in the same run,
# and prints ours/ezkl ratios. ezkl part: scripts/ezkl_bench.py. See --help.
set -euo pipefail

EZKL_VERSION="${EZKL_VERSION:-23.0.5}"   # newest on PyPI for cp311/linux x86_64 at time of writing
DEFAULT_MODELS=(test-vectors/rockybot test-vectors/1l_mlp test-vectors/2l_relu_fc)

usage() {
  cat <<EOF
Usage: scripts/bench-vs-ezkl.sh [options] [MODEL_DIR...]

Benchmarks ezkl ${EZKL_VERSION} (pip) and zkml-evm on each MODEL_DIR (network.onnx +
input.json). Default models: ${DEFAULT_MODELS[*]}

ezkl side (per model, in a temp dir): gen_settings (public input/output, fixed params)
-> calibrate_settings(target=resources) -> compile_circuit -> gen_srs(k) (local, cached in
\$HOME/.cache/zkml-evm/ezkl-srs/) -> gen_witness -> setup [timed] -> prove [timed, peak RSS]
-> verify -> Solidity verifier -> solc (.tools/bin/solc, --optimize-runs 1000000, cancun)
-> anvil: receipt gasUsed of a verifyProof transaction (includes the 21000 intrinsic gas).
setup and prove run in child processes; peak RSS is that child's max RSS (like time -v).

ours: \${CARGO_TARGET_DIR:-\$HOME/.cache/zkml-evm/target}/debug/zkml-evm bench --json F MODELS
(built with 'cargo build --bin zkml-evm' only if the binary is missing). If the binary has no
'bench' subcommand (or it fails), only the ezkl columns are filled.

Output: table on stdout, JSON in out/bench-vs-ezkl.json (override with --out).

Options:
  --out FILE        merged JSON output (default: out/bench-vs-ezkl.json)
  --no-ours         skip zkml-evm (ezkl only)
  --ours-json FILE  use an existing 'zkml-evm bench --json' result instead of running it
  --no-gas          skip ezkl's EVM verifier / gas measurement
  --keep            keep ezkl's per-model temp dirs (failed models are always kept)
  --force-install   recreate .tools/ezkl-venv
  -h, --help        show this help

Environment: EZKL_VERSION (default ${EZKL_VERSION}), EZKL_NO_CALIBRATE=1 (ezkl's default scales), PYTHON (default python3, >= 3.9),
  CARGO_TARGET_DIR, TMPDIR (where ezkl's temp dirs go; proving keys can be 100s of MB).
Note: timings are wall-clock on whatever else the machine is doing; run on an idle box.
EOF
}

OUT_JSON="out/bench-vs-ezkl.json"
NO_OURS=0 NO_GAS=0 KEEP=0 FORCE=0 OURS_JSON=""
MODELS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --out) OUT_JSON="${2:?--out needs a file}"; shift ;;
    --no-ours) NO_OURS=1 ;;
    --ours-json) OURS_JSON="${2:?--ours-json needs a file}"; shift ;;
    --no-gas) NO_GAS=1 ;;
    --keep) KEEP=1 ;;
    --force-install) FORCE=1 ;;
    -*) echo "error: unknown option: $1 (see --help)" >&2; exit 2 ;;
    *) MODELS+=("$1") ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=("${DEFAULT_MODELS[@]}")
for m in "${MODELS[@]}"; do
  [[ -f "$m/network.onnx" && -f "$m/input.json" ]] || { echo "error: $m needs network.onnx and input.json" >&2; exit 2; }
done
[[ -z "$OURS_JSON" || -f "$OURS_JSON" ]] || { echo "error: $OURS_JSON not found" >&2; exit 2; }
case "$OUT_JSON" in /*) ;; *) OUT_JSON="$ROOT/$OUT_JSON" ;; esac

# ------------------------------------------------------------------ 1. ezkl venv (idempotent)
VENV="$ROOT/.tools/ezkl-venv"
PY="$VENV/bin/python"
ezkl_ok() {
  [[ -x "$PY" ]] && "$PY" - "$EZKL_VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
assert version("ezkl") == sys.argv[1]
import ezkl  # noqa: F401  (catch a broken install)
EOF
}
if [[ $FORCE == 1 ]]; then rm -rf "$VENV"; fi
if ezkl_ok; then
  echo "==> $VENV has ezkl $EZKL_VERSION"
else
  if [[ ! -x "$PY" ]]; then
    echo "==> creating $VENV"
    mkdir -p "$(dirname "$VENV")"
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
  echo "==> pip install ezkl==$EZKL_VERSION"
  # ezkl's wheel has no Python dependencies (its ONNX parser is Rust); `onnx` is
  # for ezkl_bench.py, which reads the models' symbolic dim names.
  "$PY" -m pip install --disable-pip-version-check --quiet "ezkl==$EZKL_VERSION" onnx
  ezkl_ok || { echo "error: ezkl $EZKL_VERSION not importable after install" >&2; exit 1; }
fi
"$PY" -c "import onnx" 2>/dev/null || "$PY" -m pip install --disable-pip-version-check --quiet onnx

# anvil + solc for the gas column (optional)
if [[ $NO_GAS == 0 && ( ! -x .tools/bin/anvil || ! -x .tools/bin/solc ) ]]; then
  echo "==> installing anvil/solc (scripts/install-evm-tools.sh)"
  scripts/install-evm-tools.sh >/dev/null || echo "warning: install-evm-tools.sh failed; ezkl gas will be n/a" >&2
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-ezkl.XXXXXX")"
ezkl_rc=0
cleanup() {
  if [[ $KEEP == 0 && $ezkl_rc == 0 ]]; then rm -rf "$TMP"; else echo "(kept $TMP)" >&2; fi
}
trap cleanup EXIT

# ------------------------------------------------------------------ 2. ezkl
ezkl_args=(ezkl --out "$TMP/ezkl.json" --work-root "$TMP" --srs-dir "$HOME/.cache/zkml-evm/ezkl-srs")
[[ $NO_GAS == 1 ]] && ezkl_args+=(--no-gas)
[[ $KEEP == 1 ]] && ezkl_args+=(--keep)
"$PY" scripts/ezkl_bench.py "${ezkl_args[@]}" "${MODELS[@]}" || ezkl_rc=$?
[[ -f "$TMP/ezkl.json" ]] || { echo "error: ezkl benchmark produced no results" >&2; exit 1; }
[[ $ezkl_rc == 0 ]] || echo "warning: ezkl failed on some model(s); see notes below" >&2

# ------------------------------------------------------------------ 3. ours
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zkml-evm/target}"
BIN="$CARGO_TARGET_DIR/debug/zkml-evm"
OURS_NOTE=""
report_args=(report --ezkl "$TMP/ezkl.json" --out "$OUT_JSON")
if [[ -n "$OURS_JSON" ]]; then
  report_args+=(--ours "$OURS_JSON")
elif [[ $NO_OURS == 1 ]]; then
  OURS_NOTE="skipped (--no-ours)"
else
  if [[ ! -x "$BIN" ]]; then
    echo "==> $BIN missing: cargo build --bin zkml-evm"
    cargo build --bin zkml-evm || OURS_NOTE="cargo build failed"
  fi
  if [[ -z "$OURS_NOTE" ]]; then
    if ! "$BIN" bench --help >/dev/null 2>&1; then
      OURS_NOTE="$BIN has no 'bench' subcommand yet; ezkl columns only"
    else
      echo "==> zkml-evm bench --json ... ${MODELS[*]}"
      if "$BIN" bench --json "$TMP/ours.json" "${MODELS[@]}" && [[ -s "$TMP/ours.json" ]]; then
        report_args+=(--ours "$TMP/ours.json")
      else
        OURS_NOTE="'zkml-evm bench' failed (exit status above); ezkl columns only"
      fi
    fi
  fi
fi
[[ -n "$OURS_NOTE" ]] && report_args+=(--ours-note "$OURS_NOTE")

# ------------------------------------------------------------------ 4. table + JSON
echo
"$PY" scripts/ezkl_bench.py "${report_args[@]}"
exit "$ezkl_rc"
