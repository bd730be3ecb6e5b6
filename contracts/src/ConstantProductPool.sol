// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {IERC20} from "./IERC20.sol";

/// @title ConstantProductPool
/// @notice A two-token x*y=k pool: the smallest on-chain market that gives RockyVault a
/// price to observe and a place to trade, so the example runs without forking mainnet.
/// @dev Reserves are tracked in storage (not read from balances), so donations do not move
/// the price. There are no LP shares and no withdrawals: liquidity added is locked, which
/// is fine for tests and demos and makes this unsuitable for anything else. The spot price
/// is trivially manipulable within one transaction; consumers must not trust it blindly.
contract ConstantProductPool {
    IERC20 public immutable token0;
    IERC20 public immutable token1;
    /// @notice Swap fee in basis points (30 = 0.3%), kept in the pool.
    uint256 public immutable feeBps;

    uint256 public reserve0;
    uint256 public reserve1;

    event LiquidityAdded(address indexed provider, uint256 amount0, uint256 amount1);
    event Swap(
        address indexed sender, address indexed tokenIn, uint256 amountIn, uint256 amountOut, address indexed to
    );

    constructor(IERC20 token0_, IERC20 token1_, uint256 feeBps_) {
        require(address(token0_) != address(token1_), "same token");
        require(feeBps_ < 10_000, "fee");
        token0 = token0_;
        token1 = token1_;
        feeBps = feeBps_;
    }

    /// @notice Deposit both tokens (pulled with transferFrom; approve first). Any ratio is
    /// accepted: the first deposit sets the price, later ones may move it.
    function addLiquidity(uint256 amount0, uint256 amount1) external {
        require(amount0 > 0 && amount1 > 0, "zero amount");
        reserve0 += amount0;
        reserve1 += amount1;
        _pull(token0, amount0);
        _pull(token1, amount1);
        emit LiquidityAdded(msg.sender, amount0, amount1);
    }

    /// @notice Output of swapping `amountIn` of `tokenIn` at the current reserves, after the fee.
    function getAmountOut(address tokenIn, uint256 amountIn) public view returns (uint256) {
        (uint256 rIn, uint256 rOut) = _reserves(tokenIn);
        uint256 inWithFee = amountIn * (10_000 - feeBps);
        return (inWithFee * rOut) / (rIn * 10_000 + inWithFee);
    }

    /// @notice Swap exactly `amountIn` of `tokenIn` (pulled with transferFrom) for the other
    /// token, sent to `to`. Reverts "slippage" when the output is below `minAmountOut`.
    function swap(address tokenIn, uint256 amountIn, uint256 minAmountOut, address to)
        external
        returns (uint256 amountOut)
    {
        require(amountIn > 0, "zero amount");
        amountOut = getAmountOut(tokenIn, amountIn);
        require(amountOut > 0, "zero out");
        require(amountOut >= minAmountOut, "slippage");
        bool zeroForOne = tokenIn == address(token0);
        if (zeroForOne) {
            reserve0 += amountIn;
            reserve1 -= amountOut;
        } else {
            reserve1 += amountIn;
            reserve0 -= amountOut;
        }
        _pull(IERC20(tokenIn), amountIn);
        require((zeroForOne ? token1 : token0).transfer(to, amountOut), "transfer");
        emit Swap(msg.sender, tokenIn, amountIn, amountOut, to);
    }

    /// @notice Price of token0 in token1 base units, as a 1e18 fixed-point number
    /// (reserve1 * 1e18 / reserve0). Zero before any liquidity.
    function spotPrice() external view returns (uint256) {
        uint256 r0 = reserve0;
        return r0 == 0 ? 0 : (reserve1 * 1e18) / r0;
    }

    function _reserves(address tokenIn) private view returns (uint256 rIn, uint256 rOut) {
        if (tokenIn == address(token0)) return (reserve0, reserve1);
        require(tokenIn == address(token1), "unknown token");
        return (reserve1, reserve0);
    }

    function _pull(IERC20 token, uint256 amount) private {
        require(token.transferFrom(msg.sender, address(this), amount), "transferFrom");
    }
}
