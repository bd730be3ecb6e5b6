"""The Python package against the real pipeline: every API function, and the
bad inputs a notebook user makes (a missing file, a wrong input shape, a
tampered proof, an unknown option), each a clear exception, never a crash.

Run by scripts/test.sh through python/tests/run.py, in a fresh virtual
environment where `pip install .` put the package."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import numpy as np

import zkml_evm as zk

ROOT = Path(__file__).resolve().parents[2]
TICTACTOE = ROOT / "test-vectors" / "tictactoe"
ANVIL = ROOT / ".tools" / "bin" / "anvil"
# anvil's first development account.
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def board(name="input.json"):
    return np.array(json.loads((TICTACTOE / name).read_text())["input_data"][0])


def tampered(proof):
    doc = json.loads(proof.to_json())
    raw = bytearray.fromhex(doc["proof"][2:])
    raw[len(raw) // 2] ^= 1
    doc["proof"] = "0x" + raw.hex()
    return zk.Proof(doc)


class Anvil:
    """A local chain on a free port, stopped on exit."""

    def __enter__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--hardfork", "cancun"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("anvil did not start")

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


class Pipeline(unittest.TestCase):
    """One compiled and set-up tic-tac-toe policy shared by the tests."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp())
        cls.build = cls.tmp / "build"
        # Calibration: an array and a path, mixed.
        cls.settings = zk.compile(TICTACTOE / "network.onnx", [board(), TICTACTOE / "input2.json"], cls.build)
        cls.keys = zk.setup(cls.build)
        cls.proof = zk.prove(cls.build, board())
        cls.verifier = cls.tmp / "verifier"
        cls.artefact = zk.gen_verifier(cls.build, cls.verifier)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_compile_and_setup_report_what_they_built(self):
        self.assertEqual(self.settings["k"], self.keys["k"])
        # 9 board cells and 9 move scores, each tensor packed into one word.
        self.assertEqual(self.settings["public_layout"], ["input[0..9]", "output[0..9]"])
        self.assertTrue((self.build / "settings.json").is_file())
        self.assertTrue(self.keys["dev_srs"])

    def test_proof_outputs_match_the_float_model(self):
        p = self.proof
        self.assertEqual(len(p.outputs), 9)
        self.assertEqual(len(p.public_inputs), 2)
        np.testing.assert_allclose(p.outputs, p.float_outputs, atol=0.01)
        # The outputs onnxruntime computed for this sample (input.json's output_data).
        expected = json.loads((TICTACTOE / "input.json").read_text()).get("output_data")
        if expected:
            np.testing.assert_allclose(p.outputs, np.ravel(expected), atol=0.01)

    def test_inputs_in_every_form_give_the_same_outputs(self):
        listed = zk.prove(self.build, board().tolist())
        from_file = zk.prove(self.build, TICTACTOE / "input.json")
        as_dict = zk.prove(self.build, {"input_data": [board().tolist()]})
        for p in (listed, from_file, as_dict):
            self.assertEqual(p.outputs, self.proof.outputs)

    def test_verify_takes_a_proof_object_or_a_path(self):
        self.assertTrue(zk.verify(self.build, self.proof))
        path = self.proof.save(self.tmp / "proof.json")
        self.assertTrue(zk.verify(self.build, path))
        self.assertTrue(zk.verify(self.build, str(path)))
        self.assertEqual(zk.Proof.load(path).public_inputs, self.proof.public_inputs)

    def test_a_tampered_proof_is_rejected_everywhere(self):
        bad = tampered(self.proof)
        self.assertFalse(zk.verify(self.build, bad))
        with self.assertRaises(zk.ProofRejected):
            zk.test_evm(self.verifier, bad)

    def test_edited_outputs_are_refused(self):
        doc = json.loads(self.proof.to_json())
        doc["outputs"][0] += 1.0
        with self.assertRaisesRegex(zk.ZkmlError, "outputs"):
            zk.verify(self.build, zk.Proof(doc))

    def test_a_proof_for_another_model_is_rejected(self):
        other = self.tmp / "other"
        mlp = ROOT / "test-vectors" / "2l_relu_fc"
        zk.compile(mlp / "network.onnx", mlp / "input.json", other)
        zk.setup(other)
        foreign = zk.prove(other, mlp / "input.json")
        try:
            accepted = zk.verify(self.build, foreign)
        except zk.ZkmlError:  # refused outright (another model's layout)
            accepted = False
        self.assertFalse(accepted)
        with self.assertRaises(zk.ProofRejected):
            zk.test_evm(self.verifier, foreign)

    def test_evm_verification_and_calldata(self):
        self.assertLess(self.artefact["runtime_size"], 24576)
        self.assertNotIn("bytecode", self.artefact)
        gas = zk.test_evm(self.verifier, self.proof)
        self.assertGreater(gas, 100_000)
        self.assertLess(gas, 400_000)
        data = self.proof.calldata()
        self.assertIsInstance(data, bytes)
        # verify(bytes,uint256[]): selector, two offsets, then the proof bytes and inputs.
        self.assertIn(bytes.fromhex(self.proof.document["proof"][2:]), data)
        self.assertEqual(data[-32:], self.proof.public_inputs[-1].to_bytes(32, "big"))
        self.assertTrue((self.verifier / "PublicInputs.sol").is_file())

    def test_bad_inputs_raise_clear_errors(self):
        cases = [
            (lambda: zk.prove(self.build, np.zeros(5)), "5 values"),
            (lambda: zk.prove(self.build, self.tmp / "missing.json"), "missing.json"),
            (lambda: zk.verify(self.build, self.tmp / "missing.json"), "cannot read"),
            (lambda: zk.setup(self.tmp / "nowhere"), "nowhere"),
            (lambda: zk.compile(TICTACTOE / "network.onnx", board(), self.tmp / "x", shape="round"), "shape"),
            (lambda: zk.compile(TICTACTOE / "network.onnx", board(), self.tmp / "x", param_visibility="public"), "param-visibility"),
            (lambda: zk.compile(self.tmp / "no.onnx", board(), self.tmp / "x"), "no.onnx"),
            (lambda: zk.prove(self.build, [[["a"]]]), "numeric"),
            (lambda: zk.verify(self.build, 42), "zkml_evm.Proof"),
            (lambda: zk.Proof.load(self.tmp / "missing.json"), "cannot read"),
        ]
        for call, needle in cases:
            with self.subTest(needle=needle):
                with self.assertRaises(zk.ZkmlError) as e:
                    call()
                self.assertIn(needle, str(e.exception))
                self.assertNotIn("\n", str(e.exception), "one line")

    def test_batch_proof_names_each_inference(self):
        build = self.tmp / "batch"
        zk.compile(TICTACTOE / "network.onnx", board(), build, batch=2)
        zk.setup(build)
        p = zk.prove(build, [board(), board("input2.json")])
        self.assertEqual((p.batch, len(p.outputs)), (2, 18))
        self.assertEqual(p.outputs[:9], self.proof.outputs)
        self.assertTrue(zk.verify(build, p))
        with self.assertRaisesRegex(zk.ZkmlError, "covers 2 inference"):
            zk.prove(build, board())

    def test_commitments_of_hashed_weights(self):
        build = self.tmp / "hashed"
        zk.compile(TICTACTOE / "network.onnx", board(), build, param_visibility="hashed")
        c = zk.commit(build)
        self.assertEqual(list(c), ["params_commitment"])
        zk.setup(build)
        p = zk.prove(build, board())
        self.assertEqual(p.public_inputs[-1], int(c["params_commitment"], 16))

    def test_commitment_of_committed_weights(self):
        build = self.tmp / "committed"
        s = zk.compile(TICTACTOE / "network.onnx", board(), build,
                       param_visibility="committed", hide_proofs=100)
        self.assertEqual(s["visibility"]["params"], "committed")
        with self.assertRaisesRegex(zk.ZkmlError, "setup"):
            zk.commit(build)
        zk.setup(build)
        c = zk.commit(build)["params_commitment"]
        for sample in (board(), board("input2.json")):
            p = zk.prove(build, sample)
            self.assertEqual(p.document["params_commitment"], c)
            self.assertTrue(zk.verify(build, p))
        # Without the owner's salt, a verifier names the weights it accepts.
        (build / "params.salt").unlink()
        with self.assertRaisesRegex(zk.ZkmlError, "weights-commitment"):
            zk.verify(build, p)
        self.assertTrue(zk.verify(build, p, weights_commitment=c))
        self.assertTrue(zk.verify(build, p, any_weights=True))
        other = [c[0], hex(int(c[1], 16) ^ 1)]
        with self.assertRaisesRegex(zk.ZkmlError, "weights commitment"):
            zk.verify(build, p, weights_commitment=other)  # not on the curve
        with self.assertRaisesRegex(zk.ZkmlError, "not both"):
            zk.verify(build, p, weights_commitment=c, any_weights=True)

    def test_bind_ties_committed_weights_to_their_hash(self):
        build = self.tmp / "bound"
        zk.compile(TICTACTOE / "network.onnx", board(), build, param_visibility="committed")
        zk.setup(build)
        printed = zk.commit(build)
        b = zk.bind(build, self.tmp / "bind")
        self.assertEqual(b["params_hash"], printed["params_hash"])
        self.assertEqual(b["params_commitment"], printed["params_commitment"])
        self.assertTrue(zk.verify(self.tmp / "bind", self.tmp / "bind" / "proof.json"))
        v = zk.gen_verifier(build, self.tmp / "binder", binder=True)
        self.assertEqual(v["num_public"], 1)
        with self.assertRaisesRegex(zk.ZkmlError, "committed"):
            zk.bind(self.build, self.tmp / "bind-fixed")

    @unittest.skipUnless(ANVIL.exists(), "anvil missing: run scripts/install-evm-tools.sh")
    def test_deploy_and_verify_on_a_local_chain(self):
        with Anvil() as chain:
            with self.assertRaisesRegex(zk.ZkmlError, "key"):
                zk.deploy(self.verifier, chain.url)
            d = zk.deploy(self.verifier, chain.url, private_key=ANVIL_KEY, chain_id=31337)
            self.assertTrue(d["address"].startswith("0x"))
            self.assertTrue(zk.verify_onchain(self.proof, d["address"], chain.url)["accepted"])
            sent = zk.verify_onchain(self.proof, d["address"], chain.url, send=True, private_key=ANVIL_KEY)
            self.assertTrue(sent["accepted"])
            self.assertGreater(sent["gas_used"], 100_000)
            self.assertFalse(zk.verify_onchain(tampered(self.proof), d["address"], chain.url)["accepted"])
        with self.assertRaises(zk.ZkmlError):
            zk.deploy(self.verifier, chain.url, private_key=ANVIL_KEY)  # the chain is gone

    def test_aggregate_folds_a_proof(self):
        with self.assertRaisesRegex(zk.ZkmlError, "aggregat"):
            zk.aggregate([self.build, self.proof], self.tmp / "agg-bad", k=19)
        inner = zk.prove(self.build, board(), for_aggregation=True)
        report, agg = zk.aggregate([self.build, inner], self.tmp / "agg", k=19)
        self.assertEqual(report["aggregated"], 1)
        self.assertTrue(agg.is_aggregate)
        self.assertTrue(zk.verify(self.tmp / "agg", agg))
        self.assertFalse(zk.verify(self.tmp / "agg", tampered(agg)))


if __name__ == "__main__":
    unittest.main()
