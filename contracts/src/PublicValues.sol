// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

/// @title PublicValues
/// @notice Reads a zkml-evm proof's model inputs and outputs from its public inputs, whether
/// the verifier takes them one value per public input (`compile --pack-public off`) or packed
/// into words (`--pack-public on`, or `auto` for wide models).
///
/// @dev A value's encoding is `round(x * 2^scaleBits) + offset` either way. Packed, a tensor of
/// `len` encoded values fills `ceil(len / perWord)` consecutive words of `perWord = 252 /
/// slotBits` slots, first value in the top slot; only the last word holds fewer. `slotBits` is
/// `ZkmlPublicInputs.SLOT_BITS` of the generated `PublicInputs.sol`; 0 here means unpacked.
/// The circuit range-checks every slot, so each word has exactly one decoding.
library PublicValues {
    /// @notice Values per public input: 1 unpacked, else `252 / slotBits`.
    function perWord(uint256 slotBits) internal pure returns (uint256) {
        return slotBits == 0 ? 1 : 252 / slotBits;
    }

    /// @notice Public inputs a tensor of `len` values takes.
    function words(uint256 len, uint256 slotBits) internal pure returns (uint256) {
        uint256 n = perWord(slotBits);
        return (len + n - 1) / n;
    }

    /// @notice The encoded value `i` of a tensor of `len` values whose public inputs start at
    /// `start`.
    function at(uint256[] calldata publicInputs, uint256 start, uint256 len, uint256 slotBits, uint256 i)
        internal
        pure
        returns (uint256)
    {
        require(i < len, "PublicValues: index");
        if (slotBits == 0) return publicInputs[start + i];
        uint256 n = 252 / slotBits;
        uint256 w = i / n;
        uint256 inWord = len - w * n;
        if (inWord > n) inWord = n;
        uint256 shift = slotBits * (inWord - 1 - (i % n));
        return (publicInputs[start + w] >> shift) & ((uint256(1) << slotBits) - 1);
    }

    /// @notice Encoded values as public inputs: packed into words as the circuit packs them
    /// (unchanged when `slotBits` is 0), so a contract can build what a proof must hold.
    /// Reverts on a value wider than its slot: it would spill into its neighbour.
    function pack(uint256[] memory encoded, uint256 slotBits) internal pure returns (uint256[] memory out) {
        if (slotBits == 0) return encoded;
        out = new uint256[](words(encoded.length, slotBits));
        for (uint256 w = 0; w < out.length; ++w) {
            out[w] = _word(encoded, w, slotBits);
        }
    }

    /// @notice Whether the public inputs from `start` hold exactly the encoded values
    /// `encoded`: packs them as the circuit does and compares word by word, so a contract
    /// binds a proof to values it holds itself without decoding the proof's slots.
    function equal(uint256[] calldata publicInputs, uint256 start, uint256[] memory encoded, uint256 slotBits)
        internal
        pure
        returns (bool)
    {
        uint256 n = words(encoded.length, slotBits);
        if (publicInputs.length < start + n) return false;
        for (uint256 w = 0; w < n; ++w) {
            uint256 word = slotBits == 0 ? encoded[w] : _word(encoded, w, slotBits);
            if (publicInputs[start + w] != word) return false;
        }
        return true;
    }

    /// @dev Word `w` of the packed `encoded` values.
    function _word(uint256[] memory encoded, uint256 w, uint256 slotBits) private pure returns (uint256 word) {
        uint256 n = 252 / slotBits;
        uint256 first = w * n;
        uint256 last = first + n < encoded.length ? first + n : encoded.length;
        for (uint256 i = first; i < last; ++i) {
            uint256 v = encoded[i];
            require(v >> slotBits == 0, "PublicValues: slot overflow");
            // No overflow: at most 252 bits are ever shifted in.
            unchecked {
                word = (word << slotBits) | v;
            }
        }
    }
}
