// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IZkmlVerifier, ZkmlVerification} from "./IZkmlVerifier.sol";

/// @notice What generated verifiers expose beyond `IZkmlVerifier`: the digest of the circuit
/// they check, and for a weights-binding verifier the digest of the circuit whose weights
/// column its proofs hash.
interface ICircuitDigests {
    function CIRCUIT() external view returns (bytes32);
    function BOUND_CIRCUIT() external view returns (bytes32);
}

/// @title BoundWeights
/// @notice Hashed weights' guarantee at the committed-weights verifier's price per inference.
/// Accepts a proof of a circuit compiled with `--param-visibility committed` only when the
/// weights commitment it starts with (its first 64 bytes) has been bound to `paramsHash`, the
/// Poseidon hash of the audited weights (what `--param-visibility hashed` would expose, and
/// what `zkml-evm commit` prints as `params_hash`). A commitment is bound once, by a
/// `zkml-evm bind` proof that the binding verifier accepts for `paramsHash`: that proof starts
/// with the same commitment and hashes the column it commits to. KZG is binding, so every
/// later proof starting with that commitment ran those weights.
/// @dev Several commitments may be bound to one hash: a new salt (after the salt's proof bound,
/// see `compile --hide-proofs`) needs one more `bind`, not a new contract.
contract BoundWeights {
    using ZkmlVerification for IZkmlVerifier;

    /// @notice The committed-weights verifier of the model's architecture.
    IZkmlVerifier public immutable verifier;
    /// @notice The weights-binding verifier (`zkml-evm gen-verifier BUILD --binder`).
    IZkmlVerifier public immutable binder;
    uint256 public immutable paramsHash;
    /// @notice keccak256 of each weights commitment `(x, y)` bound to `paramsHash`.
    mapping(bytes32 => bool) public bound;

    event Bound(bytes32 indexed commitment, uint256 x, uint256 y);

    constructor(IZkmlVerifier verifier_, IZkmlVerifier binder_, uint256 paramsHash_) {
        ZkmlVerification.requireUsable(verifier_);
        ZkmlVerification.requireUsable(binder_);
        // A binding proof hashes the rows where its circuit's build keeps each weight: paired
        // with another build's verifier (another layout or domain size), those rows would be
        // other weights than the ones the inferences read.
        require(
            ICircuitDigests(address(binder_)).BOUND_CIRCUIT() == ICircuitDigests(address(verifier_)).CIRCUIT(),
            "binder is for another circuit"
        );
        verifier = verifier_;
        binder = binder_;
        paramsHash = paramsHash_;
    }

    /// @notice Bind the weights commitment `bindingProof` starts with to `paramsHash`.
    /// Reverts unless the binding verifier accepts the proof for `paramsHash`.
    function bind(bytes calldata bindingProof) external {
        require(bindingProof.length >= 64, "binding proof too short");
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = paramsHash;
        bool ok;
        try binder.verify(bindingProof, inputs) returns (bool valid) {
            ok = valid;
        } catch {
            ok = false;
        }
        require(ok, "binding proof rejected");
        bytes32 commitment = keccak256(bindingProof[0:64]);
        bound[commitment] = true;
        emit Bound(commitment, uint256(bytes32(bindingProof[0:32])), uint256(bytes32(bindingProof[32:64])));
    }

    /// @notice True iff the proof is valid and its weights commitment is bound to `paramsHash`.
    function accepts(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (proof.length < 64 || !bound[keccak256(proof[0:64])]) {
            return false;
        }
        return verifier.accepts(proof, publicInputs);
    }
}
