"""zkml-evm from Python: prove ONNX model inference with halo2 (KZG on BN254)
and verify it natively, in revm or on an Ethereum chain.

The functions mirror the command line and call the same Rust library (the
extension module ``zkml_evm._native``); this module only turns numpy arrays,
proof objects and keyword options into what that takes::

    import zkml_evm as zk
    zk.compile("model.onnx", x, "build")          # x: a numpy array (one sample)
    zk.setup("build")
    proof = zk.prove("build", x)
    proof.outputs                                  # dequantized outputs
    zk.verify("build", proof)                      # True
    zk.gen_verifier("build", "verifier")
    zk.test_evm("verifier", proof)                 # gas of verify() in revm

Inputs, wherever a function takes them, are a path to an
``{"input_data": [[...]]}`` file, an array (one sample of a one-input
model), a tuple of arrays (one sample of a model with several inputs), or a
list of those (several samples: calibration samples for ``compile``, the
inferences of a batch for ``prove``). Proofs are a :class:`Proof` or a path
to a ``proof.json``. Errors raise :class:`ZkmlError` with the command line's
one-line message; a verifier that says no raises :class:`ProofRejected`
(``verify`` returns False instead).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _native
from ._native import ProofRejected, ZkmlError

__all__ = [
    "Proof",
    "ZkmlError",
    "ProofRejected",
    "compile",
    "setup",
    "prove",
    "verify",
    "gen_verifier",
    "test_evm",
    "deploy",
    "verify_onchain",
    "aggregate",
    "commit",
]

PathLike = Union[str, "os.PathLike[str]"]
#: One sample or several; see the module docs.
Inputs = Any


class Proof:
    """A proof as ``prove`` or ``aggregate`` wrote it (the ``proof.json`` document)."""

    def __init__(self, document: Dict[str, Any], path: Optional[Path] = None):
        self.document = document
        #: Where the proof was read from or last saved, if anywhere.
        self.path = path

    @classmethod
    def load(cls, path: PathLike) -> "Proof":
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            raise ZkmlError(f"cannot read {p}: {e.strerror}") from None
        try:
            return cls(json.loads(text), p)
        except json.JSONDecodeError as e:
            raise ZkmlError(f"{p} is malformed: {e}") from None

    @property
    def outputs(self) -> List[float]:
        """The circuit's outputs, dequantized (every inference's in turn for a batch)."""
        return list(self.document.get("outputs", []))

    @property
    def float_outputs(self) -> List[float]:
        """The float model (tract) on the same input."""
        return list(self.document.get("float_outputs", []))

    @property
    def public_inputs(self) -> List[int]:
        """The verifier's public inputs, as integers."""
        return [int(v, 16) for v in self.document["public_inputs"]]

    @property
    def batch(self) -> int:
        """Inferences the proof covers."""
        return int(self.document.get("batch", 1))

    @property
    def is_aggregate(self) -> bool:
        return "aggregated" in self.document

    def calldata(self) -> bytes:
        """ABI-encoded ``verify(bytes proof, uint256[] publicInputs)`` call data."""
        return _native.calldata(proof_json=self.to_json())

    def to_json(self) -> str:
        return json.dumps(self.document)

    def save(self, path: PathLike) -> Path:
        """Write ``proof.json`` to `path` (what the command line reads)."""
        p = Path(path)
        p.write_text(json.dumps(self.document, indent=1) + "\n")
        self.path = p
        return p

    def __repr__(self) -> str:
        kind = "aggregate proof" if self.is_aggregate else f"proof of {self.batch} inference(s)"
        return f"<zkml_evm.Proof: {kind}, {len(self.document.get('public_inputs', []))} public inputs>"


# ---------------------------------------------------------------- arguments


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _flat(x: Any) -> List[float]:
    """One tensor, flattened, as floats (numpy arrays, nested lists, scalars)."""
    try:
        import numpy as np
    except ImportError:  # numpy is a dependency; stay usable without it
        out: List[float] = []
        stack = [x]
        while stack:
            v = stack.pop()
            if isinstance(v, (list, tuple)):
                stack.extend(reversed(v))
            else:
                out.append(float(v))
        return out
    try:
        return np.asarray(x, dtype=np.float64).ravel().tolist()
    except (TypeError, ValueError) as e:
        raise ZkmlError(f"an input tensor is not numeric: {e}") from None


def _sample(x: Any) -> Any:
    """One sample in the native form: a path, or a list of flattened tensors."""
    if _is_path(x):
        return os.fspath(x)
    if isinstance(x, dict):
        if "input_data" not in x:
            raise ZkmlError('an input dict needs "input_data": one flattened tensor per graph input')
        return [_flat(t) for t in x["input_data"]]
    if isinstance(x, tuple):
        return [_flat(t) for t in x]
    return [_flat(x)]


def _samples(inputs: Inputs) -> List[Any]:
    """Several samples from any accepted form (see the module docs)."""
    if isinstance(inputs, list):
        if not inputs:
            raise ZkmlError("no input given")
        one_each = all(
            _is_path(x) or isinstance(x, (dict, tuple)) or type(x).__name__ == "ndarray" for x in inputs
        )
        if one_each:
            return [_sample(x) for x in inputs]
    return [_sample(inputs)]


def _proof_args(proof: Union[Proof, PathLike]) -> Dict[str, str]:
    if isinstance(proof, Proof):
        return {"proof_json": proof.to_json()}
    if _is_path(proof):
        return {"proof_path": os.fspath(proof)}
    raise ZkmlError(f"a proof is a zkml_evm.Proof or a path to a proof.json, not {type(proof).__name__}")


# ---------------------------------------------------------------- pipeline


def compile(
    model: PathLike,
    inputs: Inputs,
    out: PathLike,
    *,
    scale_bits: Optional[int] = None,
    weight_bits: Optional[int] = None,
    input_visibility: str = "public",
    output_visibility: str = "public",
    param_visibility: str = "fixed",
    shape: str = "auto",
    pack_public: str = "auto",
    batch: int = 1,
    hide_proofs: Optional[int] = None,
) -> Dict[str, Any]:
    """Compile an ONNX model into a circuit in `out`, calibrated on `inputs`.

    Options are the command line's (``zkml-evm compile --help``): visibilities
    ``public|private|hashed|fixed`` (and ``committed`` for weights),
    ``shape`` ``auto|narrow|wide-terms|wide-chain|wide``, ``pack_public``
    ``auto|on|off``, ``batch`` inferences per proof, ``hide_proofs`` for
    committed weights. Returns
    ``settings.json`` as a dict (k, scales, layout, public-input names).
    """
    settings = _native.compile(
        os.fspath(model),
        _samples(inputs),
        os.fspath(out),
        scale_bits=scale_bits,
        weight_bits=weight_bits,
        input_visibility=input_visibility,
        output_visibility=output_visibility,
        param_visibility=param_visibility,
        shape=shape,
        pack_public=pack_public,
        batch=batch,
        hide_proofs=hide_proofs,
    )
    return json.loads(settings)


def setup(build: PathLike, srs: Optional[PathLike] = None) -> Dict[str, Any]:
    """Generate the proving and verifying keys. Without `srs`, the development
    SRS (its secret is public: proofs made with it are forgeable)."""
    return json.loads(_native.setup(os.fspath(build), None if srs is None else os.fspath(srs)))


def prove(build: PathLike, inputs: Inputs, *, for_aggregation: bool = False) -> Proof:
    """Prove the model on `inputs` (N samples for a build compiled with ``batch=N``)."""
    text = _native.prove(os.fspath(build), _samples(inputs), for_aggregation=for_aggregation)
    return Proof(json.loads(text))


def verify(
    build: PathLike,
    proof: Union[Proof, PathLike],
    *,
    weights_commitment: Optional[Union[str, Sequence[str]]] = None,
    any_weights: bool = False,
) -> bool:
    """Whether the proof is valid for the build (or aggregation) directory.

    With committed weights the proof's weights commitment must be the build's
    own (computed with its ``params.salt``), or ``weights_commitment``
    (``[x, y]`` as :func:`commit` returns it, or ``"x,y"``), unless
    ``any_weights`` accepts every weight version of the architecture."""
    if weights_commitment is not None and not isinstance(weights_commitment, str):
        weights_commitment = ",".join(weights_commitment)
    return _native.verify(
        os.fspath(build),
        **_proof_args(proof),
        weights_commitment=weights_commitment,
        any_weights=any_weights,
    )


def gen_verifier(
    build: PathLike, out: PathLike, *, binder: bool = False, srs: Optional[PathLike] = None
) -> Dict[str, Any]:
    """Generate and compile the Solidity verifier into `out` (``Halo2Verifier.sol``,
    ``verifier.json``, ``PublicInputs.sol``). Returns ``verifier.json`` without the
    bytecode fields. With ``binder=True`` (committed weights), the build's
    weights-binding verifier instead, which checks :func:`bind` proofs; `srs` is then
    the ceremony SRS the build's came from, when the binding circuit needs more rows."""
    text = _native.gen_verifier(
        os.fspath(build), os.fspath(out), binder=binder, srs=None if srs is None else os.fspath(srs)
    )
    artefact = json.loads(text)
    return {k: v for k, v in artefact.items() if k not in ("abi", "bytecode", "deployed_bytecode")}


def bind(build: PathLike, out: PathLike, srs: Optional[PathLike] = None) -> Dict[str, Any]:
    """Committed weights: prove once that the build's weights commitment holds the
    weights whose Poseidon hash is ``params_hash`` (the hash hashed weights expose).
    Writes `out` (keys, ``proof.json``) and returns the proof document: ``params_hash``,
    ``params_commitment`` ``[x, y]``, ``proof``, ``public_inputs``. ``verify(out,
    out / "proof.json")`` checks it."""
    srs_arg = None if srs is None else os.fspath(srs)
    return json.loads(_native.bind(os.fspath(build), os.fspath(out), srs_arg))


def test_evm(verifier_dir: PathLike, proof: Union[Proof, PathLike]) -> int:
    """Deploy the verifier in revm and call ``verify``: the gas of the whole
    transaction. Raises ProofRejected if the verifier says no."""
    return _native.test_evm(os.fspath(verifier_dir), **_proof_args(proof))


def deploy(
    path: PathLike,
    rpc: str,
    *,
    private_key: Optional[str] = None,
    keystore: Optional[PathLike] = None,
    password: Optional[str] = None,
    chain_id: Optional[int] = None,
    args: Optional[Union[str, bytes]] = None,
    allow_dev_srs: bool = False,
) -> Dict[str, Any]:
    """Deploy a verifier directory or a forge/solc artefact JSON; `args` are
    ABI-encoded constructor arguments. Returns address, chain id, tx hash, gas."""
    if isinstance(args, (bytes, bytearray)):
        args = "0x" + bytes(args).hex()
    report = _native.deploy(
        os.fspath(path),
        rpc,
        private_key=private_key,
        keystore=None if keystore is None else os.fspath(keystore),
        password=password,
        chain_id=chain_id,
        args=args,
        allow_dev_srs=allow_dev_srs,
    )
    return json.loads(report)


def verify_onchain(
    proof: Union[Proof, PathLike],
    address: str,
    rpc: str,
    *,
    send: bool = False,
    private_key: Optional[str] = None,
    keystore: Optional[PathLike] = None,
    password: Optional[str] = None,
    chain_id: Optional[int] = None,
) -> Dict[str, Any]:
    """Call ``verify`` of the deployed verifier: an ``eth_call``, or with
    ``send=True`` a signed transaction. Returns ``{"accepted": bool, ...}``
    (gas and tx hash when sent)."""
    verdict = _native.verify_onchain(
        address,
        rpc,
        send=send,
        private_key=private_key,
        keystore=None if keystore is None else os.fspath(keystore),
        password=password,
        chain_id=chain_id,
        **_proof_args(proof),
    )
    return json.loads(verdict)


def aggregate(
    items: Sequence[Union[PathLike, Proof]],
    out: PathLike,
    *,
    k: int = 21,
    srs: Optional[PathLike] = None,
) -> Tuple[Dict[str, Any], Proof]:
    """Fold proofs made with ``prove(..., for_aggregation=True)`` into one:
    `items` names a build directory, then its proofs (then another build and
    its proofs ...). Returns the report and the aggregated proof."""
    out = Path(out)
    paths: List[str] = []
    for i, item in enumerate(items):
        if isinstance(item, Proof):
            if item.path is None:
                out.mkdir(parents=True, exist_ok=True)
                item.save(out / f"inner-{i}.json")
            paths.append(os.fspath(item.path))
        else:
            paths.append(os.fspath(item))
    report = json.loads(
        _native.aggregate(paths, os.fspath(out), k=k, srs=None if srs is None else os.fspath(srs))
    )
    return report, Proof.load(out / "proof.json")


def commit(build: PathLike, inputs: Optional[Inputs] = None) -> Dict[str, Any]:
    """The commitments a proof exposes: Poseidon hashes as hex strings (hashed
    weights' always, a hashed input's and output's for `inputs`), and for
    committed weights their column commitment as ``[x, y]`` (after `setup`) with
    ``params_hash``, the hash :func:`bind` ties it to."""
    samples = None if inputs is None else _samples(inputs)
    return json.loads(_native.commit(os.fspath(build), samples))
