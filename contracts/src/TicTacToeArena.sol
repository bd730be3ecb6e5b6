// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IZkmlVerifier, ZkmlVerification} from "./IZkmlVerifier.sol";
import {TicTacToeRules} from "./TicTacToeRules.sol";
import {PublicValues} from "./PublicValues.sol";

/// @title TicTacToeArena
/// @notice Many tic-tac-toe tables, one per player, against the same proven neural policy.
/// AI moves are settled in batches: one batch proof (`zkml-evm compile --batch N`, then
/// `prove --input board1.json ... boardN.json`) of the policy run on `batch` boards moves the
/// AI on `batch` tables for one verification.
///
/// @dev The verifier's public inputs are the `batch * 9` board cells (inference i's at
/// i * 9 ..), then the `batch * 9` scores, each either one value per public input or packed
/// into words (`slotBits`, see PublicValues). Cells and scores are encoded as in
/// TicTacToeRules. Anyone may settle; nobody can choose a move.
contract TicTacToeArena {
    uint256 public constant CELLS = 9;

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
    /// @notice Moves per batch proof (`compile --batch`).
    uint256 public immutable batch;
    uint256 public immutable scaleBits;
    uint256 public immutable offset;
    /// @notice `ZkmlPublicInputs.SLOT_BITS` of a packed verifier; 0 when unpacked.
    uint256 public immutable slotBits;

    mapping(address => Table) internal tables;

    event GameStarted(address indexed player, uint256 gameId);
    event Moved(address indexed player, uint256 gameId, bool ai, uint256 cell);
    event GameOver(address indexed player, uint256 gameId, Status result);

    constructor(IZkmlVerifier verifier_, uint256 batch_, uint256 scaleBits_, uint256 offset_, uint256 slotBits_) {
        ZkmlVerification.requireUsable(verifier_);
        require(batch_ > 0 && batch_ <= 4096, "batch");
        require(scaleBits_ < 128 && offset_ > (uint256(1) << scaleBits_), "encoding");
        require(slotBits_ == 0 || (slotBits_ <= 126 && offset_ < (uint256(1) << slotBits_)), "slot bits");
        verifier = verifier_;
        batch = batch_;
        scaleBits = scaleBits_;
        offset = offset_;
        slotBits = slotBits_;
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

    /// @notice Public inputs of one batch proof: the boards' words, then the scores' words.
    function numPublicInputs() public view returns (uint256) {
        return 2 * PublicValues.words(batch * CELLS, slotBits);
    }

    /// @notice The AI's moves on `players`' tables, `cells[i]` on `players[i]`'s, proven by one
    /// batch proof whose i-th inference ran on that table's board. Checks, cheapest first:
    /// every table awaits the AI, the proof's boards are the tables' boards in order, every
    /// cell is the argmax of its scores over empty cells; then the proof, once.
    function settleAiMoves(
        address[] calldata players,
        uint8[] calldata cells,
        bytes calldata proof,
        uint256[] calldata publicInputs
    ) external {
        uint256 n = batch;
        require(players.length == n && cells.length == n, "batch size");
        require(publicInputs.length == numPublicInputs(), "public inputs");
        uint256 one = uint256(1) << scaleBits;
        uint256[] memory encodedBoards = new uint256[](n * CELLS);
        for (uint256 i = 0; i < n; ++i) {
            Table storage t = tables[players[i]];
            require(t.status == Status.AiTurn, "not AI turn");
            for (uint256 c = 0; c < CELLS; ++c) {
                encodedBoards[i * CELLS + c] = TicTacToeRules.encodeCell(t.board[c], offset, one);
            }
        }
        require(PublicValues.equal(publicInputs, 0, encodedBoards, slotBits), "wrong board");
        uint256 scoresStart = PublicValues.words(n * CELLS, slotBits);
        for (uint256 i = 0; i < n; ++i) {
            int8[CELLS] memory b = tables[players[i]].board;
            require(cells[i] < CELLS, "bad cell");
            require(b[cells[i]] == 0, "occupied");
            uint256[CELLS] memory scores;
            for (uint256 c = 0; c < CELLS; ++c) {
                scores[c] = PublicValues.at(publicInputs, scoresStart, n * CELLS, slotBits, i * CELLS + c);
            }
            require(cells[i] == TicTacToeRules.bestEmptyCell(b, scores), "not argmax");
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
