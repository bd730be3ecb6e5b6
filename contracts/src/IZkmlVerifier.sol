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
    /// secret is public (anyone can forge proofs for it). Consumers refuse such a verifier off
    /// development chains with `ZkmlVerification.requireUsable` in their constructors.
    function DEVELOPMENT_SRS() external view returns (bool);
}

/// @notice How contracts consult a verifier: a verifier that reverts (e.g. on a malformed
/// proof) counts as a rejection, so a bad proof is always "invalid proof" to the caller.
library ZkmlVerification {
    /// @notice For a consumer's constructor: reverts unless `verifier` is a contract whose proofs
    /// mean something on this chain. A development-SRS verifier (whose secret is public, so
    /// anyone can forge its proofs) is refused off development chains (31337: anvil, hardhat,
    /// forge; 1337: geth --dev, ganache), the rule `zkml-evm deploy` applies to verifiers.
    function requireUsable(IZkmlVerifier verifier) internal view {
        require(address(verifier).code.length > 0, "verifier");
        require(
            !verifier.DEVELOPMENT_SRS() || block.chainid == 31337 || block.chainid == 1337,
            "development SRS verifier off a development chain"
        );
    }

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
