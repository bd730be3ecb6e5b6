// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {ZkmlTest} from "./utils/ZkmlTest.sol";
import {TicTacToeArena} from "../src/TicTacToeArena.sol";
import {IZkmlVerifier} from "../src/IZkmlVerifier.sol";
import {PublicValues} from "../src/PublicValues.sol";

/// @notice TicTacToeArena against a real batch verifier and a real batch proof of two policy
/// inferences with packed public inputs (contracts/test/fixtures/tictactoe_batch.json from
/// scripts/make-arena-fixture.sh): two players open their games, one proof settles both AI
/// replies.
contract TicTacToeArenaTest is ZkmlTest {
    address constant ALICE = address(0xA11CE);
    address constant BOB = address(0xB0B);

    string json;
    address verifier;
    TicTacToeArena arena;
    bytes proof;
    uint256[] pub;

    function setUp() public {
        json = loadFixture("tictactoe_batch");
        verifier = deployVerifier(json);
        arena = new TicTacToeArena(
            IZkmlVerifier(verifier),
            vm.parseJsonUint(json, ".batch"),
            vm.parseJsonUint(json, ".scale_bits"),
            vm.parseJsonUint(json, ".public_offset"),
            vm.parseJsonUint(json, ".slot_bits")
        );
        proof = vm.parseJsonBytes(json, ".proof");
        pub = vm.parseJsonUintArray(json, ".public_inputs");
        _open(ALICE, 0);
        _open(BOB, 1);
    }

    /// @dev `player` starts a game and plays the human cells of fixture board `i`.
    function _open(address player, uint256 i) internal {
        int256[] memory b = vm.parseJsonIntArray(json, string.concat(".boards[", _str(i), "]"));
        vm.prank(player);
        arena.newGame();
        for (uint8 c = 0; c < 9; ++c) {
            if (b[c] == -1) {
                vm.prank(player);
                arena.play(c);
            }
        }
    }

    function _move(uint256 i) internal view returns (uint8) {
        return uint8(vm.parseJsonUint(json, string.concat(".ai_moves[", _str(i), "]")));
    }

    function _settle(address[] memory players, uint8[] memory cells, bytes memory p, uint256[] memory inputs)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeCall(TicTacToeArena.settleAiMoves, (players, cells, p, inputs));
    }

    function _pair(address a, address b) internal pure returns (address[] memory v) {
        v = new address[](2);
        (v[0], v[1]) = (a, b);
    }

    function _cells(uint8 a, uint8 b) internal pure returns (uint8[] memory v) {
        v = new uint8[](2);
        (v[0], v[1]) = (a, b);
    }

    function test_oneProofSettlesTwoMoves() public {
        assertTrue(arena.statusOf(ALICE) == TicTacToeArena.Status.AiTurn, "Alice awaits the AI");
        assertTrue(arena.statusOf(BOB) == TicTacToeArena.Status.AiTurn, "Bob awaits the AI");
        measure(
            "TicTacToeArena.settleAiMoves (2 moves, 1 batch proof)",
            address(arena),
            _settle(_pair(ALICE, BOB), _cells(_move(0), _move(1)), proof, pub)
        );
        assertTrue(arena.boardOf(ALICE)[_move(0)] == 1, "Alice's table: AI stone placed");
        assertTrue(arena.boardOf(BOB)[_move(1)] == 1, "Bob's table: AI stone placed");
        assertTrue(arena.statusOf(ALICE) == TicTacToeArena.Status.HumanTurn, "Alice's turn");
        assertTrue(arena.statusOf(BOB) == TicTacToeArena.Status.HumanTurn, "Bob's turn");
    }

    function test_batchVerifierGas() public {
        assertEq(pub.length, arena.numPublicInputs(), "fixture layout");
        bytes memory ret = measure(
            "Halo2Verifier.verify (batch of 2 tictactoe inferences)",
            verifier,
            abi.encodeCall(IZkmlVerifier.verify, (proof, pub))
        );
        assertTrue(abi.decode(ret, (bool)), "batch proof verifies");
        assertVerifierRejects(verifier, vm.parseJsonBytes(json, ".tampered_proof"), pub, "tampered proof");
        uint256[] memory edited = vm.parseJsonUintArray(json, ".public_inputs");
        edited[edited.length - 1] += 1;
        assertVerifierRejects(verifier, proof, edited, "edited last score");
    }

    function test_tablesMustMatchTheirInferences() public {
        uint8[] memory cells = _cells(_move(0), _move(1));
        // Tables listed in the other order: each inference is about the other board.
        expectRevert(address(arena), _settle(_pair(BOB, ALICE), _cells(_move(1), _move(0)), proof, pub), "wrong board");
        // A table not awaiting the AI.
        expectRevert(address(arena), _settle(_pair(ALICE, address(0xCAFE)), cells, proof, pub), "not AI turn");
        // Wrong batch size.
        address[] memory one = new address[](1);
        one[0] = ALICE;
        expectRevert(address(arena), _settle(one, cells, proof, pub), "batch size");
    }

    function test_onlyTheArgmaxMoves() public {
        for (uint8 c = 0; c < 10; ++c) {
            if (c == _move(0)) continue;
            string memory why = c >= 9 ? "bad cell" : (arena.boardOf(ALICE)[c] == 0 ? "not argmax" : "occupied");
            expectRevert(address(arena), _settle(_pair(ALICE, BOB), _cells(c, _move(1)), proof, pub), why);
        }
    }

    function test_tamperedOrForgedProofMovesNothing() public {
        bytes memory tampered = vm.parseJsonBytes(json, ".tampered_proof");
        uint8[] memory cells = _cells(_move(0), _move(1));
        expectRevert(address(arena), _settle(_pair(ALICE, BOB), cells, tampered, pub), "invalid proof");
        // Bob's scores edited so another empty cell wins, repacked into the words: the argmax
        // passes, the proof fails.
        uint256[] memory scores = vm.parseJsonUintArray(json, ".encoded_outputs");
        uint8 other = _move(1) == 1 ? 2 : 1;
        scores[9 + other] = scores[9 + _move(1)] + 1;
        uint256 slotBits = arena.slotBits();
        uint256[] memory words = PublicValues.pack(scores, slotBits);
        uint256[] memory forged = vm.parseJsonUintArray(json, ".public_inputs");
        uint256 at = PublicValues.words(18, slotBits);
        for (uint256 w = 0; w < words.length; ++w) {
            forged[at + w] = words[w];
        }
        expectRevert(address(arena), _settle(_pair(ALICE, BOB), _cells(_move(0), other), proof, forged), "invalid proof");
        assertTrue(arena.statusOf(ALICE) == TicTacToeArena.Status.AiTurn, "nothing moved");
        assertTrue(arena.boardOf(BOB)[other] == 0, "nothing moved");
    }
}
