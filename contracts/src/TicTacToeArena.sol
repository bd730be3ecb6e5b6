// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IZkmlVerifier, ZkmlVerification} from "./IZkmlVerifier.sol";
import {TicTacToeRules} from "./TicTacToeRules.sol";

/// @title TicTacToeArena
/// @notice Many tic-tac-toe tables, one per player, against the same proven neural policy.
/// AI moves are settled in batches: one aggregated proof (`zkml-evm aggregate`) of the
/// policy run on `batch` boards moves the AI on `batch` tables for one verification.
///
/// @dev The verifier checks aggregated proofs of exactly `batch` policy inferences. Their
/// public inputs are 12 accumulator limbs, then per inference the 9 board cells and the 9
/// scores (see TicTacToeRules for the encoding). Anyone may settle; nobody can choose a move.
contract TicTacToeArena {
    uint256 public constant CELLS = 9;
    /// @notice Accumulator limbs in front of an aggregated proof's public inputs.
    uint256 public constant ACCUMULATOR_LIMBS = 12;

    enum Status {
        None,
        HumanTurn,
        AiTurn,
        HumanWon,
        AiWon,
        Draw
    }

    struct Table {
        int8[CELLS] board;
        Status status;
        uint64 gameId;
    }

    IZkmlVerifier public immutable verifier;
    /// @notice Moves per aggregated proof.
    uint256 public immutable batch;
    uint256 public immutable scaleBits;
    uint256 public immutable offset;

    mapping(address => Table) internal tables;

    event GameStarted(address indexed player, uint256 gameId);
    event Moved(address indexed player, uint256 gameId, bool ai, uint256 cell);
    event GameOver(address indexed player, uint256 gameId, Status result);

    constructor(IZkmlVerifier verifier_, uint256 batch_, uint256 scaleBits_, uint256 offset_) {
        require(address(verifier_).code.length > 0, "verifier");
        require(batch_ > 0, "batch");
        require(scaleBits_ < 128 && offset_ > (uint256(1) << scaleBits_), "encoding");
        verifier = verifier_;
        batch = batch_;
        scaleBits = scaleBits_;
        offset = offset_;
    }

    /// @notice Start (or restart) the caller's game; the human moves first.
    function newGame() external {
        Table storage t = tables[msg.sender];
        delete t.board;
        t.status = Status.HumanTurn;
        emit GameStarted(msg.sender, ++t.gameId);
    }

    function play(uint8 cell) external {
        Table storage t = tables[msg.sender];
        require(t.status == Status.HumanTurn, "not your turn");
        require(cell < CELLS, "bad cell");
        require(t.board[cell] == 0, "occupied");
        t.board[cell] = -1;
        emit Moved(msg.sender, t.gameId, false, cell);
        _settle(msg.sender, t, -1, Status.HumanWon, Status.AiTurn);
    }

    /// @notice The AI's moves on `players`' tables, `cells[i]` on `players[i]`'s, proven by one
    /// aggregated proof whose i-th inference ran on that table's board. Checks, cheapest
    /// first: every table awaits the AI, every inference is about its table's board, every
    /// cell is the argmax of its scores over empty cells; then the proof, once.
    function settleAiMoves(
        address[] calldata players,
        uint8[] calldata cells,
        bytes calldata proof,
        uint256[] calldata publicInputs
    ) external {
        uint256 n = batch;
        require(players.length == n && cells.length == n, "batch size");
        require(publicInputs.length == ACCUMULATOR_LIMBS + n * TicTacToeRules.NUM_PUBLIC, "public inputs");
        uint256 one = uint256(1) << scaleBits;
        for (uint256 i = 0; i < n; ++i) {
            Table storage t = tables[players[i]];
            require(t.status == Status.AiTurn, "not AI turn");
            int8[CELLS] memory b = t.board;
            uint256 at = ACCUMULATOR_LIMBS + i * TicTacToeRules.NUM_PUBLIC;
            require(TicTacToeRules.isBoard(b, publicInputs, at, offset, one), "wrong board");
            require(cells[i] < CELLS, "bad cell");
            require(b[cells[i]] == 0, "occupied");
            require(cells[i] == TicTacToeRules.bestEmptyCell(b, publicInputs[at + CELLS:at + 2 * CELLS]), "not argmax");
        }
        require(ZkmlVerification.accepts(verifier, proof, publicInputs), "invalid proof");
        for (uint256 i = 0; i < n; ++i) {
            Table storage t = tables[players[i]];
            // A player listed twice: the first move already ended the AI's turn.
            require(t.status == Status.AiTurn, "duplicate player");
            t.board[cells[i]] = 1;
            emit Moved(players[i], t.gameId, true, cells[i]);
            _settle(players[i], t, 1, Status.AiWon, Status.HumanTurn);
        }
    }

    function boardOf(address player) external view returns (int8[CELLS] memory) {
        return tables[player].board;
    }

    function statusOf(address player) external view returns (Status) {
        return tables[player].status;
    }

    function _settle(address player, Table storage t, int8 mover, Status won, Status next) private {
        int8[CELLS] memory b = t.board;
        Status s = next;
        if (TicTacToeRules.wins(b, mover)) {
            s = won;
        } else if (TicTacToeRules.isFull(b)) {
            s = Status.Draw;
        }
        t.status = s;
        if (s != next) emit GameOver(player, t.gameId, s);
    }
}
