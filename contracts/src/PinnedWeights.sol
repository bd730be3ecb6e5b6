// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IZkmlVerifier, ZkmlVerification} from "./IZkmlVerifier.sol";

/// @title PinnedWeights
/// @notice Accepts proofs of one weight version only, for a circuit compiled with
/// `--param-visibility committed`. Its verifier accepts a proof made with any weights of the
/// architecture; the proof's first 64 bytes are the KZG commitment `(x, y)` of the column that
/// holds the weights (printed by `zkml-evm commit`, and in proof.json as `params_commitment`).
/// The verifier checks every weight the circuit reads against that commitment, so pinning it
/// here turns "some model of this shape" into "the model we audited", as `PinnedModel` does for
/// the Poseidon commitment of hashed weights, but with no hashing in the circuit.
contract PinnedWeights {
    using ZkmlVerification for IZkmlVerifier;

    IZkmlVerifier public immutable verifier;
    uint256 public immutable commitmentX;
    uint256 public immutable commitmentY;

    constructor(IZkmlVerifier verifier_, uint256 commitmentX_, uint256 commitmentY_) {
        ZkmlVerification.requireUsable(verifier_);
        verifier = verifier_;
        commitmentX = commitmentX_;
        commitmentY = commitmentY_;
    }

    /// @notice True iff the proof is valid and was made with the pinned weights.
    function accepts(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (proof.length < 64) {
            return false;
        }
        if (uint256(bytes32(proof[0:32])) != commitmentX || uint256(bytes32(proof[32:64])) != commitmentY) {
            return false;
        }
        return verifier.accepts(proof, publicInputs);
    }
}
