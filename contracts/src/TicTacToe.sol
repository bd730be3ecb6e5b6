// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IZkmlVerifier, ZkmlVerification} from "./IZkmlVerifier.sol";
import {TicTacToeRules} from "./TicTacToeRules.sol";

/// @title TicTacToe
/// @notice Tic-tac-toe against a neural policy whose every move is proven: the AI's move
/// is accepted only with a proof that the policy model (9 cells in, 9 scores out), run on
/// the current on-chain board, ranks that cell highest among the empty cells. Anyone may
/// relay the AI's move; nobody, relayer included, can choose it.
///
/// @dev Board cells are stored from the AI's point of view: -1 human, 0 empty, 1 AI.
/// publicInputs[0..9] must be the board encoded as zkml-evm public inputs
/// (value * 2^scaleBits + offset, i.e. offset - 2^scaleBits, offset, offset + 2^scaleBits)
/// and publicInputs[9..18] are the scores, whose encodings compare like the scores.
/// Ties go to the lowest cell index (what scripts/export_tictactoe.py assumes).
/// One game at a time; the human moves first.
contract TicTacToe {
    uint256 public constant CELLS = 9;
    uint256 public constant NUM_PUBLIC = 18;

    enum Status {
        None,
        HumanTurn,
        AiTurn,
        HumanWon,
        AiWon,
        Draw
    }

    IZkmlVerifier public immutable verifier;
    /// @notice Model fixed point (proof.json scale_bits).
    uint256 public immutable scaleBits;
    /// @notice Public-input offset (proof.json public_offset).
    uint256 public immutable offset;

    /// @notice The human of the current game.
    address public player;
    Status public status;
    uint256 public gameId;
    /// @notice -1 human, 0 empty, 1 AI (one storage slot).
    int8[CELLS] public board;

    event GameStarted(uint256 indexed gameId, address indexed player);
    event Moved(uint256 indexed gameId, bool indexed ai, uint256 cell);
    event GameOver(uint256 indexed gameId, Status result);

    constructor(IZkmlVerifier verifier_, uint256 scaleBits_, uint256 offset_) {
        ZkmlVerification.requireUsable(verifier_);
        require(scaleBits_ < 128 && offset_ > (uint256(1) << scaleBits_), "encoding");
        verifier = verifier_;
        scaleBits = scaleBits_;
        offset = offset_;
    }

    /// @notice Start a new game as the human. Only the current player may abandon a game
    /// in progress, so nobody can wipe someone else's board.
    function newGame() external {
        Status s = status;
        require(msg.sender == player || (s != Status.HumanTurn && s != Status.AiTurn), "game in progress");
        delete board;
        player = msg.sender;
        status = Status.HumanTurn;
        emit GameStarted(++gameId, msg.sender);
    }

    /// @notice The human's move.
    function play(uint8 cell) external {
        require(msg.sender == player, "not player");
        require(status == Status.HumanTurn, "not your turn");
        require(cell < CELLS, "bad cell");
        require(board[cell] == 0, "occupied");
        board[cell] = -1;
        emit Moved(gameId, false, cell);
        _settle(-1, Status.HumanWon, Status.AiTurn);
    }

    /// @notice The AI's move, proven. Checks, cheapest first: the proof is about this board,
    /// `cell` is empty, `cell` is the argmax of the scores over empty cells, and the proof
    /// verifies (which binds those scores to the model and the board).
    function aiMove(uint8 cell, bytes calldata proof, uint256[] calldata publicInputs) external {
        require(status == Status.AiTurn, "not AI turn");
        require(publicInputs.length == NUM_PUBLIC, "public inputs");
        require(cell < CELLS, "bad cell");
        int8[CELLS] memory b = board;
        require(TicTacToeRules.isBoard(b, publicInputs, 0, offset, uint256(1) << scaleBits), "wrong board");
        require(b[cell] == 0, "occupied");
        require(cell == bestEmptyCell(b, publicInputs[CELLS:]), "not argmax");
        require(ZkmlVerification.accepts(verifier, proof, publicInputs), "invalid proof");
        board[cell] = 1;
        emit Moved(gameId, true, cell);
        _settle(1, Status.AiWon, Status.HumanTurn);
    }

    /// @notice The highest-scoring empty cell (lowest index on a tie); 9 when the board is full.
    function bestEmptyCell(int8[CELLS] memory b, uint256[] calldata scores) public pure returns (uint256) {
        return TicTacToeRules.bestEmptyCell(b, TicTacToeRules.firstNine(scores));
    }

    /// @notice The board as the model's public inputs: what a prover feeds `zkml-evm prove`
    /// is the plain board (-1/0/1); this is its encoding, for checking calldata off chain.
    function encodedBoard() external view returns (uint256[CELLS] memory enc) {
        uint256 one = uint256(1) << scaleBits;
        for (uint256 i = 0; i < CELLS; ++i) {
            enc[i] = TicTacToeRules.encodeCell(board[i], offset, one);
        }
    }

    function _settle(int8 mover, Status won, Status next) private {
        int8[CELLS] memory b = board;
        Status s = next;
        if (TicTacToeRules.wins(b, mover)) {
            s = won;
        } else if (TicTacToeRules.isFull(b)) {
            s = Status.Draw;
        }
        status = s;
        if (s != next) emit GameOver(gameId, s);
    }
}
