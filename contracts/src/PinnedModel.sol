// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IZkmlVerifier, ZkmlVerification} from "./IZkmlVerifier.sol";

/// @title PinnedModel
/// @notice Accepts proofs of one model version only. A circuit compiled with
/// `--param-visibility hashed` keeps its weights private: its verifier accepts a proof made
/// with any weights of that architecture, and the proof's `params_commitment` public input
/// (the Poseidon hash of the weights, printed by `zkml-evm commit`) says which weights ran.
/// Pinning that commitment here turns "some model of this shape" into "the model we audited".
/// @dev `commitmentIndex` comes from the verifier's generated `PublicInputs.sol`
/// (`ZkmlPublicInputs.PARAMS_COMMITMENT`).
contract PinnedModel {
    using ZkmlVerification for IZkmlVerifier;

    IZkmlVerifier public immutable verifier;
    uint256 public immutable commitmentIndex;
    uint256 public immutable paramsCommitment;

    constructor(IZkmlVerifier verifier_, uint256 commitmentIndex_, uint256 paramsCommitment_) {
        ZkmlVerification.requireUsable(verifier_);
        verifier = verifier_;
        commitmentIndex = commitmentIndex_;
        paramsCommitment = paramsCommitment_;
    }

    /// @notice True iff the proof is valid and was made with the pinned weights.
    function accepts(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length <= commitmentIndex || publicInputs[commitmentIndex] != paramsCommitment) {
            return false;
        }
        return verifier.accepts(proof, publicInputs);
    }
}
