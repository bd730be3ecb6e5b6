// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

/// @notice The interface of every verifier `zkml-evm gen-verifier` emits.
/// @dev `publicInputs` are the model's quantized inputs then outputs, each
/// encoded as `round(value * 2^scale_bits) + 2^(range_bits-1) + 1` (see the
/// verifier's proof.json / settings.json): positive, never zero, and ordered
/// like the values they encode.
interface IZkmlVerifier {
    function verify(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool);

    /// @notice True when the verifier was generated from zkml-evm's development SRS, whose
    /// secret is public (anyone can forge proofs for it). A production consumer should refuse
    /// such a verifier, e.g. `require(!verifier.DEVELOPMENT_SRS())` in its constructor.
    function DEVELOPMENT_SRS() external view returns (bool);
}

/// @notice How contracts consult a verifier: a verifier that reverts (e.g. on a malformed
/// proof) counts as a rejection, so a bad proof is always "invalid proof" to the caller.
library ZkmlVerification {
    function accepts(IZkmlVerifier verifier, bytes calldata proof, uint256[] calldata publicInputs)
        internal
        view
        returns (bool)
    {
        try verifier.verify(proof, publicInputs) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }
}
