#!/usr/bin/env python3
"""Helper for scripts/bench-vs-ezkl.sh (see its --help).

  ezkl_bench.py ezkl   --out FILE [--srs-dir DIR] [--work-root DIR] [--keep] [--no-gas]
                       [--anvil PATH] [--solc PATH] MODEL_DIR...
      Runs ezkl's standard flow on every MODEL_DIR (network.onnx + input.json) and writes
      a JSON array with one object per model. Needs the `ezkl` package (.tools/ezkl-venv).
  ezkl_bench.py report --ezkl FILE [--ours FILE] --out FILE
      Merges both result files, prints the comparison table, writes the merged JSON.
      Standard library only.
  ezkl_bench.py _child {setup,prove} ...      (internal: one timed ezkl step)

Measurement: setup and prove each run in a fresh child process; wall seconds cover the
ezkl call only (measured inside the child), peak RSS is the child's ru_maxrss from
os.wait4 (whole process: interpreter + ezkl, i.e. what `/usr/bin/time -v` reports).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# Match zkml-evm's own verifier build (src/evm/compile.rs, src/evm/verifier.rs, src/evm/exec.rs):
# solc --optimize-runs 1000000, evm version / hardfork Cancun, gas = receipt gasUsed (incl. 21000).
SOLC_RUNS = 1_000_000
EVM_VERSION = "cancun"



def _dim_params(onnx_path):
    """The symbolic dim names of the graph inputs and outputs."""
    import onnx

    g = onnx.load(onnx_path, load_external_data=False).graph
    names = []
    for vi in list(g.input) + list(g.output):
        t = vi.type.tensor_type
        for d in t.shape.dim:
            if d.dim_param and d.dim_param not in names:
                names.append(d.dim_param)
    return names

def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- child step
def child_main(argv):
    """Runs one ezkl step; writes {"seconds": ...} to argv[-1]."""
    import ezkl

    step, rest, out = argv[0], argv[1:-1], argv[-1]
    t0 = time.perf_counter()
    if step == "setup":
        model, vk, pk, srs = rest
        ok = ezkl.setup(model, vk, pk, srs_path=srs)
    elif step == "prove":
        witness, model, pk, proof, srs = rest
        ok = ezkl.prove(witness, model, pk, proof, srs_path=srs)
    else:
        raise SystemExit(f"unknown step {step}")
    secs = time.perf_counter() - t0
    if not ok:
        raise SystemExit(f"ezkl.{step} returned {ok!r}")
    with open(out, "w") as f:
        json.dump({"seconds": secs}, f)


def run_child(step, args, work, log_f):
    """Runs `_child step args` in a fresh process; returns (wall seconds, peak RSS MB)."""
    res = os.path.join(work, f"{step}.timing.json")
    cmd = [sys.executable, os.path.abspath(__file__), "_child", step, *args, res]
    p = subprocess.Popen(cmd, stdout=log_f, stderr=log_f, cwd=work)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"ezkl {step} child failed (exit {p.returncode}); see {log_f.name}")
    with open(res) as f:
        secs = json.load(f)["seconds"]
    return secs, ru.ru_maxrss / 1024.0  # Linux: ru_maxrss is in KiB


# ---------------------------------------------------------------------------- SRS cache
def cached_srs(ezkl, srs_dir, k, rec):
    """Path of an SRS for 2^k rows, generated locally (ezkl.gen_srs) once and cached."""
    os.makedirs(srs_dir, exist_ok=True)
    path = os.path.join(srs_dir, f"ezkl-kzg-k{k}.srs")
    if os.path.exists(path) and os.path.getsize(path) > 0:
        rec["srs_cached"] = True
        return path
    log(f"    gen_srs k={k} -> {path} (local, not a ceremony SRS)")
    fd, tmp = tempfile.mkstemp(prefix=f".k{k}.", suffix=".tmp", dir=srs_dir)
    os.close(fd)
    os.unlink(tmp)
    try:
        t0 = time.perf_counter()
        ezkl.gen_srs(tmp, k)
        rec["srs_gen_s"] = round(time.perf_counter() - t0, 3)
        os.replace(tmp, path)  # atomic: concurrent/aborted runs never leave a partial file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    rec["srs_cached"] = False
    return path


# ---------------------------------------------------------------------------- EVM gas
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rpc:
    def __init__(self, url):
        self.url, self.n = url, 0

    def __call__(self, method, *params):
        self.n += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": list(params)})
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            resp = json.load(r)
        if "error" in resp:
            raise RuntimeError(f"{method}: {resp['error']}")
        return resp["result"]

    def send(self, tx):
        h = self("eth_sendTransaction", tx)
        for _ in range(600):
            rc = self("eth_getTransactionReceipt", h)
            if rc:
                return rc
            time.sleep(0.05)
        raise RuntimeError("no receipt")


def solc_compile(solc, sol_path):
    cmd = [solc, "--bin", "--optimize", "--optimize-runs", str(SOLC_RUNS),
           "--evm-version", EVM_VERSION, sol_path]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"solc failed: {(p.stderr or p.stdout).strip()[-300:]}")
    # output: "======= file:Contract =======\nBinary:\n<hex>\n" per contract; take the largest
    blobs = [l.strip() for l in p.stdout.splitlines()
             if l.strip() and all(c in "0123456789abcdef" for c in l.strip())]
    if not blobs:
        raise RuntimeError("solc printed no bytecode")
    return max(blobs, key=len)


def evm_gas(ezkl, work, settings, vk, srs, proof, anvil, solc, rec):
    """ezkl Solidity verifier -> solc -> anvil; fills verify_gas / runtime_bytes / deploy_gas."""
    import asyncio

    sol = os.path.join(work, "Verifier.sol")
    abi = os.path.join(work, "Verifier.abi")
    # ezkl 23 writes the .sol, then compiles it with solc fetched through svm to emit the ABI;
    # offline that download fails after the .sol is complete. We only need the .sol.
    try:
        # async in ezkl 23: the call itself needs a running event loop
        async def _create():
            r = ezkl.create_evm_verifier(vk, settings, sol, abi, srs_path=srs)
            return (await r) if hasattr(r, "__await__") else r
        asyncio.run(_create())
    except Exception as e:  # noqa: BLE001
        if not (os.path.exists(sol) and "contract Halo2Verifier" in open(sol).read()):
            raise RuntimeError(f"create_evm_verifier: {e}") from None
        rec["evm_note"] = "ezkl ABI step failed (svm download, offline); compiled the .sol with .tools/bin/solc"
    calldata = ezkl.encode_evm_calldata(proof, os.path.join(work, "calldata.bin"))
    calldata = bytes(calldata)
    rec["calldata_bytes"] = len(calldata)
    code = solc_compile(solc, sol)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    alog = open(os.path.join(work, "anvil.log"), "w")
    proc = subprocess.Popen([anvil, "--port", str(port), "--hardfork", EVM_VERSION,
                             "--disable-code-size-limit", "--gas-limit", "1000000000",
                             "--accounts", "1", "--silent"], stdout=alog, stderr=alog)
    try:
        rpc = Rpc(url)
        for _ in range(300):
            try:
                rpc("eth_chainId")
                break
            except Exception:  # noqa: BLE001
                if proc.poll() is not None:
                    raise RuntimeError(f"anvil exited ({proc.returncode}); see {alog.name}")
                time.sleep(0.1)
        else:
            raise RuntimeError("anvil did not start")
        sender = rpc("eth_accounts")[0]
        dep = rpc.send({"from": sender, "data": "0x" + code, "gas": hex(900_000_000)})
        if int(dep["status"], 16) != 1 or not dep.get("contractAddress"):
            raise RuntimeError("deployment reverted")
        addr = dep["contractAddress"]
        rec["deploy_gas"] = int(dep["gasUsed"], 16)
        rec["runtime_bytes"] = (len(rpc("eth_getCode", addr, "latest")) - 2) // 2
        tx = {"from": sender, "to": addr, "data": "0x" + calldata.hex(), "gas": hex(30_000_000)}
        ret = rpc("eth_call", tx, "latest")
        if not ret or int(ret, 16) != 1:
            raise RuntimeError(f"verifyProof eth_call returned {ret!r}, not true")
        # sanity: a proof with one flipped byte must be rejected (revert or false)
        bad = bytearray(calldata)
        bad[4 + 32 * 3 + 40] ^= 1  # selector, 2 offsets, proof length, then proof bytes
        try:
            bad_ret = rpc("eth_call", dict(tx, data="0x" + bad.hex()), "latest")
            rejected = not bad_ret or int(bad_ret, 16) != 1
        except RuntimeError:
            rejected = True
        if not rejected:
            raise RuntimeError("verifier accepted a tampered proof; gas figure not trustworthy")
        rc = rpc.send(tx)
        if int(rc["status"], 16) != 1:
            raise RuntimeError("verifyProof transaction reverted")
        rec["verify_gas"] = int(rc["gasUsed"], 16)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        alog.close()


# ---------------------------------------------------------------------------- ezkl flow
def bench_model(ezkl, model_dir, args):
    name = os.path.basename(os.path.normpath(model_dir))
    rec = {"model": name, "k": None, "setup_s": None, "prove_s": None, "peak_rss_mb": None,
           "proof_bytes": None, "verify_gas": None, "runtime_bytes": None, "verified": None,
           "error": None}
    onnx_path = os.path.abspath(os.path.join(model_dir, "network.onnx"))
    data = os.path.abspath(os.path.join(model_dir, "input.json"))
    work = tempfile.mkdtemp(prefix=f"ezkl-{name}-", dir=args.work_root)
    rec["work_dir"] = work
    log_path = os.path.join(work, "ezkl.log")
    log_f = open(log_path, "w")
    # ezkl's Rust side prints tables (e.g. the calibration fidelity report) to fd 1/2:
    # send them to the per-model log instead of the terminal.
    saved = os.dup(1), os.dup(2)
    os.dup2(log_f.fileno(), 1)
    os.dup2(log_f.fileno(), 2)
    try:
        p = lambda f: os.path.join(work, f)  # noqa: E731
        settings, compiled = p("settings.json"), p("network.ezkl")
        vk, pk, witness, proof = p("vk.key"), p("pk.key"), p("witness.json"), p("proof.json")

        ra = ezkl.PyRunArgs()
        ra.input_visibility = "public"
        ra.output_visibility = "public"
        ra.param_visibility = "fixed"
        # Exporters name the symbolic batch dim as they like ("batch",
        # "N", ...); ezkl needs each one set, as zkml-evm sizes it from the
        # sample (a batch of one here).
        symbols = _dim_params(onnx_path)
        if symbols:
            ra.variables = [(s, 1) for s in symbols]
        # EZKL_NO_CALIBRATE=1 keeps ezkl's default scales: its calibration
        # did not finish in 35 minutes on a GPT block here.
        calibrate = os.environ.get("EZKL_NO_CALIBRATE") != "1"
        _say(saved, f"==> ezkl {name}: gen_settings" + (" + calibrate_settings(target=resources)" if calibrate else " (default scales, no calibration)"))
        if not ezkl.gen_settings(onnx_path, settings, py_run_args=ra):
            raise RuntimeError("gen_settings failed")
        if calibrate and not ezkl.calibrate_settings(data, onnx_path, settings, "resources"):
            raise RuntimeError("calibrate_settings failed")
        if not ezkl.compile_circuit(onnx_path, compiled, settings):
            raise RuntimeError("compile_circuit failed")
        with open(settings) as f:
            st = json.load(f)
        k = int(st["run_args"]["logrows"])
        rec.update(k=k, num_rows=st.get("num_rows"), input_scale=st["run_args"].get("input_scale"),
                   param_scale=st["run_args"].get("param_scale"))
        srs = cached_srs(ezkl, args.srs_dir, k, rec)
        ezkl.gen_witness(data, compiled, witness)

        _say(saved, f"    setup (k={k}, rows={rec['num_rows']})")
        rec["setup_s"], rec["setup_rss_mb"] = _r(*run_child("setup", [compiled, vk, pk, srs], work, log_f))
        rec["pk_bytes"] = os.path.getsize(pk)
        rec["vk_bytes"] = os.path.getsize(vk)
        _say(saved, "    prove")
        rec["prove_s"], rec["peak_rss_mb"] = _r(*run_child("prove", [witness, compiled, pk, proof, srs], work, log_f))
        with open(proof) as f:
            pj = json.load(f)
        hexp = pj.get("hex_proof") or ""
        rec["proof_bytes"] = len(bytes.fromhex(hexp[2:] if hexp.startswith("0x") else hexp)) if hexp \
            else len(pj["proof"])
        rec["verified"] = bool(ezkl.verify(proof, settings, vk, srs_path=srs))
        if not rec["verified"]:
            raise RuntimeError("ezkl.verify rejected the proof")
        _say(saved, f"    setup {rec['setup_s']}s, prove {rec['prove_s']}s, peak RSS {rec['peak_rss_mb']} MB, "
                    f"proof {rec['proof_bytes']} B, verified")

        if args.no_gas:
            rec["gas_na"] = "skipped (--no-gas)"
        else:
            missing = [t for t in (args.anvil, args.solc) if not (t and os.access(t, os.X_OK))]
            if missing:
                rec["gas_na"] = f"missing {', '.join(map(str, missing))} (run scripts/install-evm-tools.sh)"
            else:
                _say(saved, "    EVM verifier -> solc -> anvil")
                try:
                    evm_gas(ezkl, work, settings, vk, srs, proof, args.anvil, args.solc, rec)
                    _say(saved, f"    verifyProof gas {rec['verify_gas']}, runtime {rec['runtime_bytes']} B")
                except Exception as e:  # noqa: BLE001
                    rec["gas_na"] = " ".join(str(e).split())[:200]
                    _say(saved, f"    gas n/a: {rec['gas_na']}")
    except Exception as e:  # noqa: BLE001
        rec["error"] = " ".join(str(e).split())[:300]
        traceback.print_exc()
        _say(saved, f"    FAILED: {rec['error']} (log: {log_path})")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        log_f.close()
    if not args.keep and rec["error"] is None:
        shutil.rmtree(work, ignore_errors=True)
        rec["work_dir"] = None
    return rec


def _r(secs, mb):
    return round(secs, 3), round(mb, 1)


def _say(saved, msg):
    os.write(saved[1], (msg + "\n").encode())


def ezkl_main(args):
    import ezkl
    from importlib.metadata import version

    ver = version("ezkl")
    log(f"==> ezkl {ver} (python {sys.version.split()[0]}), SRS cache {args.srs_dir}")
    recs = []
    for m in args.models:
        rec = bench_model(ezkl, m, args)
        rec["ezkl_version"] = ver
        recs.append(rec)
        with open(args.out, "w") as f:  # rewrite after every model: partial results survive
            json.dump(recs, f, indent=2)
    return 0 if all(r["error"] is None for r in recs) else 1


# ---------------------------------------------------------------------------- report
def ratio(a, b):
    try:
        return round(float(a) / float(b), 2) if a is not None and b not in (None, 0) else None
    except (TypeError, ValueError):
        return None


def report_main(args):
    with open(args.ezkl) as f:
        ez = {r["model"]: r for r in json.load(f)}
    ours, ours_note = {}, args.ours_note
    if args.ours and os.path.exists(args.ours):
        with open(args.ours) as f:
            ours = {os.path.basename(os.path.normpath(str(r.get("model")))): r for r in json.load(f)}
    rows = []
    for name in list(ez) + [m for m in ours if m not in ez]:
        e, o = ez.get(name, {}), ours.get(name, {})
        rows.append({
            "model": name,
            "ezkl_k": e.get("k"), "ours_k": o.get("k"),
            "ezkl_setup_s": e.get("setup_s"), "ours_keygen_s": o.get("keygen_s"),
            "ezkl_prove_s": e.get("prove_s"), "ours_prove_s": o.get("prove_s"),
            "prove_ratio": ratio(o.get("prove_s"), e.get("prove_s")),
            "ezkl_rss_mb": e.get("peak_rss_mb"), "ours_rss_mb": o.get("peak_rss_mb"),
            "rss_ratio": ratio(o.get("peak_rss_mb"), e.get("peak_rss_mb")),
            "ezkl_gas": e.get("verify_gas"), "ours_gas": o.get("verify_gas"),
            "gas_ratio": ratio(o.get("verify_gas"), e.get("verify_gas")),
            "ezkl_proof_bytes": e.get("proof_bytes"), "ours_proof_bytes": o.get("proof_bytes"),
            "ezkl_runtime_bytes": e.get("runtime_bytes"), "ours_runtime_bytes": o.get("runtime_bytes"),
            "ezkl_gas_na": e.get("gas_na"), "ezkl_error": e.get("error"),
        })
    cols = [("model", "model"), ("ezkl_k", "ezkl k"), ("ours_k", "ours k"),
            ("ezkl_prove_s", "ezkl prove s"), ("ours_prove_s", "ours prove s"),
            ("prove_ratio", "ratio (ours/ezkl)"), ("ezkl_rss_mb", "ezkl RSS MB"),
            ("ours_rss_mb", "ours RSS MB"), ("rss_ratio", "ratio"),
            ("ezkl_gas", "ezkl gas"), ("ours_gas", "ours gas"), ("gas_ratio", "ratio")]
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3f}" if v < 10 else f"{v:.1f}"
        return str(v)
    cells = [[fmt(r[c]) for c, _ in cols] for r in rows]
    w = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h) in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.ljust(w[i]) for i, v in enumerate(vals)) + " |"  # noqa: E731
    print(line([h for _, h in cols]))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for c in cells:
        print(line(c))
    for r in rows:
        if r["ezkl_error"]:
            print(f"note: ezkl failed on {r['model']}: {r['ezkl_error']}")
        elif r["ezkl_gas_na"]:
            print(f"note: ezkl gas n/a for {r['model']}: {r['ezkl_gas_na']}")
    if ours_note:
        print(f"note: ours: {ours_note}")
    ver = next((e.get("ezkl_version") for e in ez.values() if e.get("ezkl_version")), None)
    out = {"ezkl_version": ver, "ours_note": ours_note, "rows": rows,
           "ezkl_raw": list(ez.values()), "ours_raw": list(ours.values())}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    print(f"wrote {args.out}")
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        return child_main(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ezkl")
    a.add_argument("--out", required=True)
    a.add_argument("--srs-dir", default=os.path.expanduser("~/.cache/zkml-evm/ezkl-srs"))
    a.add_argument("--work-root", default=None, help="parent of the per-model temp dirs")
    a.add_argument("--keep", action="store_true", help="keep per-model temp dirs")
    a.add_argument("--no-gas", action="store_true")
    a.add_argument("--anvil", default=os.path.join(HERE, "..", ".tools", "bin", "anvil"))
    a.add_argument("--solc", default=os.path.join(HERE, "..", ".tools", "bin", "solc"))
    a.add_argument("models", nargs="+")
    r = sub.add_parser("report")
    r.add_argument("--ezkl", required=True)
    r.add_argument("--ours")
    r.add_argument("--ours-note", default=None)
    r.add_argument("--out", required=True)
    args = ap.parse_args()
    return ezkl_main(args) if args.cmd == "ezkl" else report_main(args)


if __name__ == "__main__":
    sys.exit(main())
