// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IERC20} from "./IERC20.sol";
import {IZkmlVerifier, ZkmlVerification} from "./IZkmlVerifier.sol";
import {ConstantProductPool} from "./ConstantProductPool.sol";
import {PublicValues} from "./PublicValues.sol";

/// @title RockyVault
/// @notice A vault that trades only on a verified inference of the RockyBot model
/// (36 prices in, 12 scores out; score 0 = buy, score 1 = sell) over a price window the
/// vault itself recorded. Anyone may submit the proof: the proof, not the caller, is the
/// authority, and binding its inputs to on-chain storage means a prover cannot choose them.
///
/// @dev Price encoding (what `observe` stores, and what the proof's inputs must equal):
///
///     value   = gain * (spot / refPrice - 1)         spot = pool.spotPrice(), refPrice fixed
///     q       = round(value * 2^scaleBits)           (half away from zero)
///     encoded = clamp(q + offset, 1, 2 * (offset - 1))
///
/// which is zkml-evm's public-input encoding (README "Public inputs": offset =
/// 2^(range_bits-1) + 1, encoded values positive and ordered like the values). `gain`
/// stretches relative moves into the model's input range: gain = 10 maps refPrice * [0.9, 1.1]
/// onto [-1, 1]. The clamp keeps every stored value a valid public input; values far outside
/// the model's calibrated range may still overflow its activations, in which case no proof
/// exists for that window and the vault simply does not trade until the window moves on.
///
/// Known limits (it is an example): the spot price is manipulable inside one transaction, so
/// `observe` and `pushEncoded` are keeper-only (a TWAP oracle would remove that trust); the
/// trade size is a fixed fraction of the balance; there is no withdrawal path.
contract RockyVault {
    /// @notice Prices per window = model inputs.
    uint256 public constant WINDOW = 36;
    /// @notice Model outputs (scores) in a proof.
    uint256 public constant SCORES = 12;
    uint256 private constant BUY = 0; // output index of the buy score
    uint256 private constant SELL = 1; // output index of the sell score

    enum Side {
        Hold,
        Buy,
        Sell
    }

    IZkmlVerifier public immutable verifier;
    ConstantProductPool public immutable pool;
    /// @notice pool.token0(): the asset traded (WETH-like).
    IERC20 public immutable weth;
    /// @notice pool.token1(): the quote asset (USDC-like).
    IERC20 public immutable usdc;
    /// @notice May call observe / pushEncoded.
    address public immutable keeper;
    /// @notice Reference price (pool.spotPrice() units) that encodes as value 0.
    uint256 public immutable refPrice;
    /// @notice Multiplier applied to spot/refPrice - 1 before quantization.
    uint256 public immutable gain;
    /// @notice Model fixed point: q = round(value * 2^scaleBits) (proof.json scale_bits).
    uint256 public immutable scaleBits;
    /// @notice Public-input offset (proof.json public_offset).
    uint256 public immutable offset;
    /// @notice A side trades only when its encoded score beats the other by more than this.
    uint256 public immutable margin;
    /// @notice Fraction of the spent token's balance swapped per trade, in basis points.
    uint256 public immutable tradeBps;
    /// @notice Max shortfall of a swap vs. the newest window price (fee + impact + drift), bps.
    uint256 public immutable maxSlippageBps;
    /// @notice `ZkmlPublicInputs.SLOT_BITS` of a verifier with packed public inputs (the
    /// default for RockyBot); 0 for one value per public input (`--pack-public off`).
    uint256 public immutable slotBits;

    /// @dev Ring buffer of encoded prices; slot (n % WINDOW) holds observation n. uint32
    /// packs eight per storage slot (encoded values are < 2^31, checked in the constructor).
    uint32[WINDOW] private ring;
    /// @notice Observations so far; each one starts a new epoch.
    uint64 public epoch;
    /// @notice Epoch of the last settled proof (at most one per epoch).
    uint64 public lastTradedEpoch;

    event Observed(uint64 indexed epoch, uint256 spotPrice, uint256 encoded);
    event Traded(
        uint64 indexed epoch,
        address indexed caller,
        Side side,
        uint256 buyScore,
        uint256 sellScore,
        uint256 amountIn,
        uint256 amountOut
    );

    modifier onlyKeeper() {
        require(msg.sender == keeper, "not keeper");
        _;
    }

    constructor(
        IZkmlVerifier verifier_,
        ConstantProductPool pool_,
        address keeper_,
        uint256 refPrice_,
        uint256 gain_,
        uint256 scaleBits_,
        uint256 offset_,
        uint256 margin_,
        uint256 tradeBps_,
        uint256 maxSlippageBps_,
        uint256 slotBits_
    ) {
        ZkmlVerification.requireUsable(verifier_);
        require(refPrice_ > 0 && gain_ > 0 && gain_ < 2 ** 64 && scaleBits_ < 64, "encoding");
        require(offset_ > 1 && offset_ < 2 ** 30, "offset");
        require(tradeBps_ <= 10_000 && maxSlippageBps_ < 10_000, "bps");
        require(slotBits_ == 0 || (slotBits_ <= 126 && offset_ < (uint256(1) << slotBits_)), "slot bits");
        verifier = verifier_;
        pool = pool_;
        weth = pool_.token0();
        usdc = pool_.token1();
        keeper = keeper_;
        refPrice = refPrice_;
        gain = gain_;
        scaleBits = scaleBits_;
        offset = offset_;
        margin = margin_;
        tradeBps = tradeBps_;
        maxSlippageBps = maxSlippageBps_;
        slotBits = slotBits_;
    }

    // ---- window ---------------------------------------------------------------------------

    /// @notice Append the pool's current spot price, encoded, to the window (keeper only:
    /// see the contract notes on manipulation). Starts a new epoch.
    function observe() external onlyKeeper returns (uint256 encoded) {
        uint256 spot = pool.spotPrice();
        encoded = encodePrice(spot);
        _push(encoded, spot);
    }

    /// @notice Append an already-encoded price (keeper only; tests and demos replay a known
    /// window with it). Must be a valid public input: 1 <= encoded <= 2 * (offset - 1).
    function pushEncoded(uint256 encoded) external onlyKeeper {
        require(encoded >= 1 && encoded <= 2 * (offset - 1), "encoded range");
        _push(encoded, 0);
    }

    /// @notice The encoding of a spot price (see the contract notes).
    function encodePrice(uint256 spot) public view returns (uint256) {
        uint256 ref = refPrice;
        bool up = spot >= ref;
        uint256 d = up ? spot - ref : ref - spot;
        uint256 mul = gain << scaleBits;
        uint256 maxQ = offset - 2; // q + offset <= 2 * (offset - 1)
        uint256 q;
        if (d > (type(uint256).max - ref / 2) / mul) {
            q = maxQ + 1; // saturates below
        } else {
            q = (d * mul + ref / 2) / ref; // round half away from zero
        }
        if (up) return q > maxQ ? offset + maxQ : offset + q;
        return q >= offset ? 1 : offset - q; // q + offset >= 1
    }

    /// @notice The current window, oldest first: exactly the encoded inputs a proof must have.
    function window() public view returns (uint256[] memory w) {
        w = new uint256[](WINDOW);
        uint32[WINDOW] memory r = ring; // five storage reads, not 36
        uint256 head = epoch % WINDOW;
        for (uint256 i = 0; i < WINDOW; ++i) {
            w[i] = r[(head + i) % WINDOW];
        }
    }

    /// @notice Public inputs of a RockyBot proof: the window's, then the scores' (36 and 12
    /// unpacked; a few words packed).
    function numPublicInputs() public view returns (uint256) {
        return PublicValues.words(WINDOW, slotBits) + PublicValues.words(SCORES, slotBits);
    }

    // ---- trading --------------------------------------------------------------------------

    /// @notice Settle one verified RockyBot inference over the current window: buy WETH
    /// when the buy score beats the sell score by more than `margin`, sell WETH in the
    /// opposite case, otherwise hold. A hold also settles the epoch, so the same window
    /// cannot be re-submitted until the keeper observes a new price.
    /// @param proof the halo2 proof from `zkml-evm prove`.
    /// @param publicInputs its public inputs: the 36 encoded window prices, then 12 scores,
    /// one per public input or packed (see `slotBits`).
    function trade(bytes calldata proof, uint256[] calldata publicInputs)
        external
        returns (Side side, uint256 amountIn, uint256 amountOut)
    {
        require(publicInputs.length == numPublicInputs(), "public inputs");
        uint64 e = epoch;
        require(e >= WINDOW, "window not full");
        require(lastTradedEpoch != e, "replay");
        require(PublicValues.equal(publicInputs, 0, window(), slotBits), "stale window");
        require(ZkmlVerification.accepts(verifier, proof, publicInputs), "invalid proof");
        lastTradedEpoch = e; // effects before the swap's external calls

        uint256 scoresAt = PublicValues.words(WINDOW, slotBits);
        uint256 buyScore = PublicValues.at(publicInputs, scoresAt, SCORES, slotBits, BUY);
        uint256 sellScore = PublicValues.at(publicInputs, scoresAt, SCORES, slotBits, SELL);
        if (buyScore > sellScore && buyScore - sellScore > margin) {
            side = Side.Buy;
            (amountIn, amountOut) = _swap(usdc, _newestPrice(), false);
        } else if (sellScore > buyScore && sellScore - buyScore > margin) {
            side = Side.Sell;
            (amountIn, amountOut) = _swap(weth, _newestPrice(), true);
        }
        emit Traded(e, msg.sender, side, buyScore, sellScore, amountIn, amountOut);
    }

    /// @dev Swap tradeBps of the vault's `tokenIn` balance. The minimum output is the newest
    /// window price less maxSlippageBps, so a caller cannot sandwich the vault's trade at a
    /// price the model never saw.
    function _swap(IERC20 tokenIn, uint256 price, bool sellWeth) private returns (uint256 amountIn, uint256 amountOut) {
        amountIn = (tokenIn.balanceOf(address(this)) * tradeBps) / 10_000;
        if (amountIn == 0) return (0, 0);
        require(price > 0, "no price");
        uint256 fair = sellWeth ? (amountIn * price) / 1e18 : (amountIn * 1e18) / price;
        uint256 minOut = (fair * (10_000 - maxSlippageBps)) / 10_000;
        require(tokenIn.approve(address(pool), amountIn), "approve");
        amountOut = pool.swap(address(tokenIn), amountIn, minOut, address(this));
    }

    /// @dev The spot price the newest window entry encodes (inverse of encodePrice, up to
    /// rounding): refPrice * (gain * 2^scaleBits + encoded - offset) / (gain * 2^scaleBits).
    function _newestPrice() private view returns (uint256) {
        uint256 encoded = ring[(epoch - 1) % WINDOW];
        uint256 mul = gain << scaleBits;
        if (mul + encoded <= offset) return 0;
        return (refPrice * (mul + encoded - offset)) / mul;
    }

    function _push(uint256 encoded, uint256 spot) private {
        uint64 e = epoch;
        // casting to 'uint32' is safe because encoded <= 2 * (offset - 1) < 2^31 (constructor)
        // forge-lint: disable-next-line(unsafe-typecast)
        ring[e % WINDOW] = uint32(encoded);
        epoch = e + 1;
        emit Observed(e + 1, spot, encoded);
    }
}
