// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {ZkmlTest} from "./utils/ZkmlTest.sol";
import {TicTacToe} from "../src/TicTacToe.sol";
import {IZkmlVerifier} from "../src/IZkmlVerifier.sol";

/// @notice TicTacToe against the real generated verifier and real proofs
/// (contracts/test/fixtures/tictactoe.json from scripts/make-fixtures.sh). The two samples
/// are consecutive AI turns of one game: the human opens, the AI answers (sample 1), the
/// human moves again, the AI answers (sample 2).
contract TicTacToeTest is ZkmlTest {
    string json;
    address verifier;
    TicTacToe game;
    uint256 offset;

    function setUp() public {
        json = loadFixture("tictactoe");
        verifier = deployVerifier(json);
        offset = vm.parseJsonUint(json, ".public_offset");
        game = new TicTacToe(IZkmlVerifier(verifier), vm.parseJsonUint(json, ".scale_bits"), offset);
        game.newGame();
    }

    function _board(uint256 i) internal view returns (int256[] memory) {
        return vm.parseJsonIntArray(json, string.concat(".samples[", _str(i), "].board"));
    }

    function _aiMoveOf(uint256 i) internal view returns (uint8) {
        return uint8(vm.parseJsonUint(json, string.concat(".samples[", _str(i), "].ai_move")));
    }

    /// @dev Plays the human cells of sample `i`'s board that are still empty on chain.
    function _playHumanMovesOf(uint256 i) internal {
        int256[] memory b = _board(i);
        for (uint8 c = 0; c < 9; ++c) {
            if (b[c] == -1 && game.board(c) == 0) game.play(c);
        }
    }

    function _aiMove(uint8 cell, bytes memory proof, uint256[] memory pub) internal pure returns (bytes memory) {
        return abi.encodeCall(TicTacToe.aiMove, (cell, proof, pub));
    }

    function _assertBoard(uint256 i) internal view {
        int256[] memory b = _board(i);
        for (uint256 c = 0; c < 9; ++c) {
            assertTrue(int256(game.board(c)) == b[c], "board");
        }
    }

    function test_validAiMovesAccepted() public {
        for (uint256 i = 0; i < 2; ++i) {
            _playHumanMovesOf(i);
            _assertBoard(i);
            assertTrue(game.status() == TicTacToe.Status.AiTurn, "AI's turn");
            Sample memory s = sample(json, i);
            uint256[9] memory enc = game.encodedBoard();
            for (uint256 c = 0; c < 9; ++c) {
                assertEq(enc[c], s.publicInputs[c], "encodedBoard");
            }
            uint8 cell = _aiMoveOf(i);
            measure(
                string.concat("TicTacToe.aiMove (sample ", _str(i + 1), ")"),
                address(game),
                _aiMove(cell, s.proof, s.publicInputs)
            );
            assertTrue(game.board(cell) == 1, "AI's stone placed");
            assertTrue(game.status() == TicTacToe.Status.HumanTurn, "human's turn");
        }
    }

    function test_verifierGas() public {
        Sample memory s = sample(json, 0);
        bytes memory ret = measure(
            "Halo2Verifier.verify (tictactoe)",
            verifier,
            abi.encodeCall(IZkmlVerifier.verify, (s.proof, s.publicInputs))
        );
        assertTrue(abi.decode(ret, (bool)), "valid proof verifies");
        assertVerifierRejects(verifier, s.tamperedProof, s.publicInputs, "tampered proof");
        s.publicInputs[s.publicInputs.length - 1] += 1;
        assertVerifierRejects(verifier, s.proof, s.publicInputs, "edited last output");
    }

    function test_moveOtherThanArgmaxRejected() public {
        _playHumanMovesOf(0);
        Sample memory s = sample(json, 0);
        uint8 best = _aiMoveOf(0);
        for (uint8 c = 0; c < 9; ++c) {
            if (c == best) continue;
            string memory why = game.board(c) == 0 ? "not argmax" : "occupied";
            expectRevert(address(game), _aiMove(c, s.proof, s.publicInputs), why);
        }
        expectRevert(address(game), _aiMove(9, s.proof, s.publicInputs), "bad cell");
    }

    /// @dev On the second board an occupied cell outscores every empty one: the argmax
    /// must be taken over empty cells only.
    function test_occupiedHighScoreIgnored() public {
        _playHumanMovesOf(0);
        Sample memory s0 = sample(json, 0);
        game.aiMove(_aiMoveOf(0), s0.proof, s0.publicInputs);
        _playHumanMovesOf(1);
        Sample memory s = sample(json, 1);
        uint8 top;
        for (uint8 c = 1; c < 9; ++c) {
            if (s.publicInputs[9 + c] > s.publicInputs[9 + top]) top = c;
        }
        assertTrue(game.board(top) != 0, "fixture: the overall top score is on an occupied cell");
        expectRevert(address(game), _aiMove(top, s.proof, s.publicInputs), "occupied");
        game.aiMove(_aiMoveOf(1), s.proof, s.publicInputs);
    }

    function test_wrongBoardRejected() public {
        Sample memory s0 = sample(json, 0);
        Sample memory s1 = sample(json, 1);
        // not the AI's turn yet
        expectRevert(address(game), _aiMove(_aiMoveOf(0), s0.proof, s0.publicInputs), "not AI turn");
        // the human opened elsewhere: sample 1's proof is about another board
        int256[] memory b = _board(0);
        uint8 other = b[0] == -1 ? 1 : 0;
        game.play(other);
        expectRevert(address(game), _aiMove(_aiMoveOf(0), s0.proof, s0.publicInputs), "wrong board");
        // a valid proof for a later board
        expectRevert(address(game), _aiMove(_aiMoveOf(1), s1.proof, s1.publicInputs), "wrong board");
    }

    function test_tamperedProofRejected() public {
        _playHumanMovesOf(0);
        Sample memory s = sample(json, 0);
        uint8 cell = _aiMoveOf(0);
        expectRevert(address(game), _aiMove(cell, s.tamperedProof, s.publicInputs), "invalid proof");
        assertTrue(game.board(cell) == 0, "board unchanged");
        assertTrue(game.status() == TicTacToe.Status.AiTurn, "still the AI's turn");
    }

    /// @dev Scores edited so that another empty cell wins the argmax: the argmax check passes,
    /// the proof does not.
    function test_forgedScoresRejected() public {
        _playHumanMovesOf(0);
        Sample memory s = sample(json, 0);
        uint8 best = _aiMoveOf(0);
        uint8 other = best == 0 ? 1 : 0;
        s.publicInputs[9 + other] = s.publicInputs[9 + best] + 1;
        expectRevert(address(game), _aiMove(other, s.proof, s.publicInputs), "invalid proof");
    }

    function test_turnsAndPlayers() public {
        expectRevert(address(game), abi.encodeCall(TicTacToe.play, (9)), "bad cell");
        game.play(4);
        expectRevert(address(game), abi.encodeCall(TicTacToe.play, (0)), "not your turn");
        vm.prank(address(0xBEEF));
        expectRevert(address(game), abi.encodeCall(TicTacToe.newGame, ()), "game in progress");
        vm.prank(address(0xBEEF));
        expectRevert(address(game), abi.encodeCall(TicTacToe.play, (0)), "not player");
    }
}
