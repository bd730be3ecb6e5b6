"""Type hints of the extension module (python/src/lib.rs). Use the wrappers
in ``zkml_evm``; these take paths, JSON text and flattened tensors."""

from os import PathLike
from typing import List, Optional, Sequence, Tuple, Union

_Path = Union[str, PathLike[str]]
# A path to an input file, or one flattened list per graph input.
_Sample = Union[_Path, List[List[float]]]

class ZkmlError(Exception): ...
class ProofRejected(ZkmlError): ...

def compile(
    model: _Path,
    samples: Sequence[_Sample],
    out: _Path,
    scale_bits: Optional[int] = None,
    weight_bits: Optional[int] = None,
    input_visibility: str = "public",
    output_visibility: str = "public",
    param_visibility: str = "fixed",
    shape: str = "auto",
    pack_public: str = "auto",
    batch: int = 1,
) -> str: ...
def setup(build: _Path, srs: Optional[_Path] = None) -> str: ...
def prove(build: _Path, samples: Sequence[_Sample], for_aggregation: bool = False) -> str: ...
def verify(
    build: _Path,
    proof_path: Optional[_Path] = None,
    proof_json: Optional[str] = None,
    weights_commitment: Optional[str] = None,
    any_weights: bool = False,
) -> bool: ...
def calldata(proof_path: Optional[_Path] = None, proof_json: Optional[str] = None) -> bytes: ...
def gen_verifier(build: _Path, out: _Path, binder: bool = False, srs: Optional[_Path] = None) -> str: ...
def bind(build: _Path, out: _Path, srs: Optional[_Path] = None) -> str: ...
def test_evm(verifier_dir: _Path, proof_path: Optional[_Path] = None, proof_json: Optional[str] = None) -> int: ...
def deploy(
    path: _Path,
    rpc: str,
    private_key: Optional[str] = None,
    keystore: Optional[_Path] = None,
    password: Optional[str] = None,
    chain_id: Optional[int] = None,
    args: Optional[str] = None,
    allow_dev_srs: bool = False,
) -> str: ...
def verify_onchain(
    address: str,
    rpc: str,
    proof_path: Optional[_Path] = None,
    proof_json: Optional[str] = None,
    send: bool = False,
    private_key: Optional[str] = None,
    keystore: Optional[_Path] = None,
    password: Optional[str] = None,
    chain_id: Optional[int] = None,
) -> str: ...
def aggregate(items: Sequence[_Path], out: _Path, k: int = 21, srs: Optional[_Path] = None) -> str: ...
def commit(build: _Path, samples: Optional[Sequence[_Sample]] = None) -> List[Tuple[str, str]]: ...
def is_build_dir(path: _Path) -> bool: ...
