// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

/// @title TicTacToeRules
/// @notice Board rules and the policy model's public-input encoding, shared by the
/// one-game TicTacToe and the many-table TicTacToeArena.
/// @dev Cells hold -1 (human), 0 (empty) or 1 (AI). The policy model takes the 9 cells
/// and outputs 9 scores; as zkml-evm public inputs a cell v is v * 2^scaleBits + offset,
/// and score encodings compare like the scores.
library TicTacToeRules {
    uint256 internal constant CELLS = 9;
    /// @dev 9 board cells, then 9 scores.
    uint256 internal constant NUM_PUBLIC = 18;

    function encodeCell(int8 v, uint256 offset, uint256 one) internal pure returns (uint256) {
        return v == 0 ? offset : (v > 0 ? offset + one : offset - one);
    }

    /// @notice Whether `publicInputs[at .. at + 9]` encode board `b`.
    function isBoard(int8[CELLS] memory b, uint256[] calldata publicInputs, uint256 at, uint256 offset, uint256 one)
        internal
        pure
        returns (bool)
    {
        for (uint256 i = 0; i < CELLS; ++i) {
            if (publicInputs[at + i] != encodeCell(b[i], offset, one)) return false;
        }
        return true;
    }

    /// @notice `scores[0..9]` as a fixed array (the scores of an unpacked proof's public inputs).
    function firstNine(uint256[] calldata scores) internal pure returns (uint256[CELLS] memory s) {
        for (uint256 i = 0; i < CELLS; ++i) {
            s[i] = scores[i];
        }
    }

    /// @notice The highest-scoring empty cell (lowest index on a tie); 9 when the board is full.
    function bestEmptyCell(int8[CELLS] memory b, uint256[CELLS] memory scores) internal pure returns (uint256 best) {
        best = CELLS;
        uint256 bestScore;
        for (uint256 i = 0; i < CELLS; ++i) {
            if (b[i] == 0 && (best == CELLS || scores[i] > bestScore)) {
                best = i;
                bestScore = scores[i];
            }
        }
    }

    function wins(int8[CELLS] memory b, int8 p) internal pure returns (bool) {
        // rows, columns, diagonals as packed cell triples
        uint8[24] memory lines = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 6, 1, 4, 7, 2, 5, 8, 0, 4, 8, 2, 4, 6];
        for (uint256 l = 0; l < 24; l += 3) {
            if (b[lines[l]] == p && b[lines[l + 1]] == p && b[lines[l + 2]] == p) return true;
        }
        return false;
    }

    function isFull(int8[CELLS] memory b) internal pure returns (bool) {
        for (uint256 i = 0; i < CELLS; ++i) {
            if (b[i] == 0) return false;
        }
        return true;
    }
}
