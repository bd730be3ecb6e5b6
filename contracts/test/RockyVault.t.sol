// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

import {ZkmlTest} from "./utils/ZkmlTest.sol";
import {TestToken} from "../src/TestToken.sol";
import {ConstantProductPool} from "../src/ConstantProductPool.sol";
import {RockyVault} from "../src/RockyVault.sol";
import {IZkmlVerifier} from "../src/IZkmlVerifier.sol";
import {PublicValues} from "../src/PublicValues.sol";

/// @dev Accepts everything: only for exercising vault logic that the real proofs do not
/// reach (the bundled RockyBot weights favour "sell" on both sample windows).
contract AcceptAllVerifier is IZkmlVerifier {
    function verify(bytes calldata, uint256[] calldata) external pure returns (bool) {
        return true;
    }

    function DEVELOPMENT_SRS() external pure returns (bool) {
        return true;
    }
}

/// @notice RockyVault against the real generated verifier and real proofs
/// (contracts/test/fixtures/rockybot.json from scripts/make-fixtures.sh). The verifier takes
/// packed public inputs (36 prices and 12 scores in a few words, `slot_bits`), as `compile`
/// builds RockyBot by default.
contract RockyVaultTest is ZkmlTest {
    uint256 constant REF_PRICE = 3000e6; // USDC base units per 1e18 WETH base units, 1e18-scaled
    uint256 constant GAIN = 10; // +-10% around REF_PRICE spans the model's [-1, 1] inputs
    uint256 constant TRADE_BPS = 1000; // trade 10% of the balance
    uint256 constant MAX_SLIPPAGE_BPS = 100; // 1% (the pool fee is 0.3%)
    uint256 constant POOL_WETH = 1000e18;
    uint256 constant VAULT_WETH = 10e18;
    uint256 constant VAULT_USDC = 30_000e6;

    string json;
    address verifier;
    uint256 scaleBits;
    uint256 offset;
    uint256 margin;
    uint256 slotBits;

    TestToken weth;
    TestToken usdc;
    ConstantProductPool pool;
    RockyVault vault;

    function setUp() public {
        json = loadFixture("rockybot");
        verifier = deployVerifier(json);
        scaleBits = vm.parseJsonUint(json, ".scale_bits");
        offset = vm.parseJsonUint(json, ".public_offset");
        slotBits = vm.parseJsonUint(json, ".slot_bits");
        require(slotBits > 0, "fixture: RockyBot's public inputs should be packed");
        margin = (uint256(1) << scaleBits) / 100; // scores must differ by > 0.01
        weth = new TestToken("Wrapped Ether (test)", "WETH", 18);
        usdc = new TestToken("USD Coin (test)", "USDC", 6);
    }

    /// @dev Pool priced at `price`, vault funded, window = the sample's 36 inputs.
    function _deploy(address verifier_, uint256 price) internal {
        pool = new ConstantProductPool(weth, usdc, 30);
        uint256 poolUsdc = (price * POOL_WETH) / 1e18;
        weth.mint(address(this), POOL_WETH);
        usdc.mint(address(this), poolUsdc);
        weth.approve(address(pool), type(uint256).max);
        usdc.approve(address(pool), type(uint256).max);
        pool.addLiquidity(POOL_WETH, poolUsdc);
        vault = this.newVault(verifier_);
        weth.mint(address(vault), VAULT_WETH);
        usdc.mint(address(vault), VAULT_USDC);
    }

    /// @dev A vault over `pool` with this test's parameters (external, so a test can `try` it).
    function newVault(address verifier_) external returns (RockyVault) {
        return new RockyVault(
            IZkmlVerifier(verifier_),
            pool,
            address(this),
            REF_PRICE,
            GAIN,
            scaleBits,
            offset,
            margin,
            TRADE_BPS,
            MAX_SLIPPAGE_BPS,
            slotBits
        );
    }

    /// @dev Deploys with the real verifier, the pool at the sample's newest price, and the
    /// sample's inputs pushed as the window.
    function _deploySample(uint256 i) internal returns (Sample memory s) {
        s = sample(json, i);
        uint256[] memory window = _encodedInputs(i);
        _deploy(verifier, _decode(window[35]));
        for (uint256 j = 0; j < 36; ++j) {
            vault.pushEncoded(window[j]);
        }
    }

    /// @dev Sample `i`'s 36 encoded prices (its input words, unpacked by make-fixtures.sh).
    function _encodedInputs(uint256 i) internal view returns (uint256[] memory) {
        return vm.parseJsonUintArray(json, string.concat(".samples[", _str(i), "].encoded_inputs"));
    }

    /// @dev Sample `i`'s 12 encoded scores.
    function _encodedOutputs(uint256 i) internal view returns (uint256[] memory) {
        return vm.parseJsonUintArray(json, string.concat(".samples[", _str(i), "].encoded_outputs"));
    }

    /// @dev Public inputs for encoded prices and scores, packed as the verifier takes them.
    function _publicInputs(uint256[] memory window, uint256[] memory scores) internal view returns (uint256[] memory pub) {
        uint256[] memory a = PublicValues.pack(window, slotBits);
        uint256[] memory b = PublicValues.pack(scores, slotBits);
        pub = new uint256[](a.length + b.length);
        for (uint256 j = 0; j < a.length; ++j) {
            pub[j] = a[j];
        }
        for (uint256 j = 0; j < b.length; ++j) {
            pub[a.length + j] = b[j];
        }
    }

    /// @dev The price an encoded window value stands for (inverse of RockyVault.encodePrice).
    function _decode(uint256 encoded) internal view returns (uint256) {
        uint256 mul = GAIN << scaleBits;
        return (REF_PRICE * (mul + encoded - offset)) / mul;
    }

    function _trade(bytes memory proof, uint256[] memory pub) internal pure returns (bytes memory) {
        return abi.encodeCall(RockyVault.trade, (proof, pub));
    }

    // ---- real proofs ----------------------------------------------------------------------

    function _tradeSample(uint256 i) internal {
        Sample memory s = _deploySample(i);
        uint256[] memory scores = _encodedOutputs(i);
        assertTrue(scores[1] > scores[0] + margin, "fixture: expected a sell signal");
        assertTrue(
            keccak256(abi.encode(_publicInputs(_encodedInputs(i), scores))) == keccak256(abi.encode(s.publicInputs)),
            "PublicValues.pack rebuilds the proof's words"
        );
        uint256 poolWeth = pool.reserve0();
        bytes memory ret = measure(
            string.concat("RockyVault.trade (sample ", _str(i + 1), ")"),
            address(vault),
            _trade(s.proof, s.publicInputs)
        );
        (RockyVault.Side side, uint256 amountIn, uint256 amountOut) =
            abi.decode(ret, (RockyVault.Side, uint256, uint256));
        assertTrue(side == RockyVault.Side.Sell, "side");
        assertEq(amountIn, (VAULT_WETH * TRADE_BPS) / 10_000, "amountIn");
        assertEq(weth.balanceOf(address(vault)), VAULT_WETH - amountIn, "vault WETH");
        assertEq(usdc.balanceOf(address(vault)), VAULT_USDC + amountOut, "vault USDC");
        assertEq(pool.reserve0(), poolWeth + amountIn, "pool WETH");
        assertTrue(amountOut > 0, "amountOut");
        assertEq(vault.lastTradedEpoch(), vault.epoch(), "epoch settled");
    }

    /// @dev The real verifier (development SRS, like every fixture) is taken on forge's
    /// development chain and refused on mainnet's id: with that SRS's public secret anyone
    /// could forge the proof a trade needs.
    function test_developmentSrsVerifierIsRefusedOffDevelopmentChains() public {
        _deploy(verifier, REF_PRICE);
        vm.chainId(1);
        try this.newVault(verifier) returns (RockyVault) {
            revert("a development-SRS verifier was taken on chain 1");
        } catch Error(string memory reason) {
            assertTrue(
                keccak256(bytes(reason)) == keccak256("development SRS verifier off a development chain"),
                reason
            );
        }
    }

    function test_tradeWithValidProofSellsWeth_sample1() public {
        _tradeSample(0);
    }

    function test_tradeWithValidProofSellsWeth_sample2() public {
        _tradeSample(1);
    }

    function test_verifierGas() public {
        Sample memory s = sample(json, 0);
        bytes memory ret = measure(
            "Halo2Verifier.verify (rockybot)", verifier, abi.encodeCall(IZkmlVerifier.verify, (s.proof, s.publicInputs))
        );
        assertTrue(abi.decode(ret, (bool)), "valid proof verifies");
        assertVerifierRejects(verifier, s.tamperedProof, s.publicInputs, "tampered proof");
        s.publicInputs[s.publicInputs.length - 1] += 1;
        assertVerifierRejects(verifier, s.proof, s.publicInputs, "edited last output");
    }

    function test_tamperedProofRevertsAndMovesNothing() public {
        Sample memory s = _deploySample(0);
        expectRevert(address(vault), _trade(s.tamperedProof, s.publicInputs), "invalid proof");
        assertEq(weth.balanceOf(address(vault)), VAULT_WETH, "vault WETH");
        assertEq(usdc.balanceOf(address(vault)), VAULT_USDC, "vault USDC");
        assertEq(vault.lastTradedEpoch(), 0, "epoch not settled");
        // the untampered proof still works afterwards
        measure("RockyVault.trade after a rejected one", address(vault), _trade(s.proof, s.publicInputs));
    }

    function test_forgedScoresRevert() public {
        Sample memory s = _deploySample(0);
        uint256[] memory scores = _encodedOutputs(0);
        (scores[0], scores[1]) = (scores[1], scores[0]); // sell -> buy, repacked into the word
        uint256[] memory forged = _publicInputs(_encodedInputs(0), scores);
        expectRevert(address(vault), _trade(s.proof, forged), "invalid proof");
        assertEq(usdc.balanceOf(address(vault)), VAULT_USDC, "vault USDC");
    }

    function test_staleWindowAfterNewObservationReverts() public {
        Sample memory s = _deploySample(0);
        vault.pushEncoded(_encodedInputs(0)[35]); // a new epoch: the window shifted by one
        expectRevert(address(vault), _trade(s.proof, s.publicInputs), "stale window");
    }

    function test_inputsNotOnChainRevert() public {
        Sample memory s = _deploySample(0);
        s.publicInputs[0] += 1;
        expectRevert(address(vault), _trade(s.proof, s.publicInputs), "stale window");
        Sample memory other = sample(json, 1); // a valid proof for another window
        expectRevert(address(vault), _trade(other.proof, other.publicInputs), "stale window");
    }

    function test_replayReverts() public {
        Sample memory s = _deploySample(0);
        measure("RockyVault.trade", address(vault), _trade(s.proof, s.publicInputs));
        uint256 wethAfter = weth.balanceOf(address(vault));
        expectRevert(address(vault), _trade(s.proof, s.publicInputs), "replay");
        assertEq(weth.balanceOf(address(vault)), wethAfter, "no second trade");
    }

    function test_windowNotFullReverts() public {
        Sample memory s = sample(json, 0);
        uint256[] memory window = _encodedInputs(0);
        _deploy(verifier, REF_PRICE);
        for (uint256 j = 1; j < 36; ++j) {
            vault.pushEncoded(window[j]);
        }
        expectRevert(address(vault), _trade(s.proof, s.publicInputs), "window not full");
    }

    function test_wrongPublicInputCountReverts() public {
        Sample memory s = _deploySample(0);
        uint256 n = s.publicInputs.length;
        assertEq(n, vault.numPublicInputs(), "fixture layout");
        uint256[] memory pub = new uint256[](n - 1);
        for (uint256 j = 0; j < n - 1; ++j) {
            pub[j] = s.publicInputs[j];
        }
        expectRevert(address(vault), _trade(s.proof, pub), "public inputs");
    }

    function test_onlyKeeperWritesTheWindow() public {
        _deploy(verifier, REF_PRICE);
        vm.prank(address(0xBEEF));
        expectRevert(address(vault), abi.encodeCall(RockyVault.pushEncoded, (offset)), "not keeper");
        vm.prank(address(0xBEEF));
        expectRevert(address(vault), abi.encodeCall(RockyVault.observe, ()), "not keeper");
        expectRevert(address(vault), abi.encodeCall(RockyVault.pushEncoded, (0)), "encoded range");
        expectRevert(address(vault), abi.encodeCall(RockyVault.pushEncoded, (2 * offset - 1)), "encoded range");
    }

    // ---- price encoding -------------------------------------------------------------------

    function test_observeEncodesSpotPrice() public {
        _deploy(verifier, REF_PRICE);
        bytes memory ret = measure("RockyVault.observe", address(vault), abi.encodeCall(RockyVault.observe, ()));
        assertEq(abi.decode(ret, (uint256)), offset, "spot == ref encodes as 0");
        // sell 10 WETH into the pool: the price drops ~2%
        weth.mint(address(this), 10e18);
        pool.swap(address(weth), 10e18, 0, address(this));
        uint256 spot = pool.spotPrice();
        uint256 q = ((REF_PRICE - spot) * (GAIN << scaleBits) + REF_PRICE / 2) / REF_PRICE;
        uint256 enc = vault.observe();
        assertEq(enc, offset - q, "encoded spot");
        assertTrue(q > 0.19e18 * (uint256(1) << scaleBits) / 1e18, "about -0.2 after a ~2% drop at gain 10");
        assertEq(vault.window()[35], enc, "newest window entry");
        assertEq(vault.window()[34], offset, "previous window entry");
        assertEq(vault.epoch(), 2, "epoch");
    }

    function test_encodePriceRoundsAndClamps() public {
        _deploy(verifier, REF_PRICE);
        uint256 one = uint256(1) << scaleBits;
        assertEq(vault.encodePrice(REF_PRICE), offset, "ref");
        // +1% at gain 10 = value 0.1: q = round(0.1 * 2^scaleBits)
        assertEq(vault.encodePrice(REF_PRICE * 101 / 100), offset + (one + 5) / 10, "+1%");
        assertEq(vault.encodePrice(REF_PRICE * 99 / 100), offset - (one + 5) / 10, "-1%");
        assertEq(vault.encodePrice(0), 1, "clamped low");
        assertEq(vault.encodePrice(REF_PRICE * 1000), 2 * (offset - 1), "clamped high");
        assertEq(vault.encodePrice(type(uint256).max), 2 * (offset - 1), "no overflow");
    }

    // ---- vault logic beyond the sample proofs (accept-all verifier) -------------------------

    /// @dev A window of 36 zero prices on chain; returns the matching public inputs with
    /// scores `buy` and `sell` (the rest zero).
    function _flatWindowProof(uint256 buy, uint256 sell) internal returns (uint256[] memory) {
        uint256[] memory window = new uint256[](36);
        uint256[] memory scores = new uint256[](12);
        for (uint256 j = 0; j < 36; ++j) {
            vault.pushEncoded(offset);
            window[j] = offset;
        }
        for (uint256 j = 0; j < 12; ++j) {
            scores[j] = offset;
        }
        (scores[0], scores[1]) = (buy, sell);
        return _publicInputs(window, scores);
    }

    function test_buySignalBuysWeth_logicOnly() public {
        _deploy(address(new AcceptAllVerifier()), REF_PRICE);
        uint256[] memory pub = _flatWindowProof(offset + margin + 1, offset); // buy
        bytes memory ret = measure("RockyVault.trade (buy, accept-all verifier)", address(vault), _trade("", pub));
        (RockyVault.Side side, uint256 amountIn, uint256 amountOut) =
            abi.decode(ret, (RockyVault.Side, uint256, uint256));
        assertTrue(side == RockyVault.Side.Buy, "side");
        assertEq(amountIn, (VAULT_USDC * TRADE_BPS) / 10_000, "amountIn");
        assertEq(usdc.balanceOf(address(vault)), VAULT_USDC - amountIn, "vault USDC");
        assertEq(weth.balanceOf(address(vault)), VAULT_WETH + amountOut, "vault WETH");
    }

    function test_withinMarginHoldsAndSettlesEpoch_logicOnly() public {
        _deploy(address(new AcceptAllVerifier()), REF_PRICE);
        uint256[] memory pub = _flatWindowProof(offset + margin, offset); // not more than margin apart
        (RockyVault.Side side,,) = vault.trade("", pub);
        assertTrue(side == RockyVault.Side.Hold, "hold");
        assertEq(weth.balanceOf(address(vault)), VAULT_WETH, "vault WETH");
        assertEq(usdc.balanceOf(address(vault)), VAULT_USDC, "vault USDC");
        expectRevert(address(vault), _trade("", pub), "replay");
    }

    function test_sandwichedPoolRevertsSlippage_logicOnly() public {
        _deploy(address(new AcceptAllVerifier()), REF_PRICE);
        uint256[] memory pub = _flatWindowProof(offset, offset + margin + 1); // sell
        // someone dumps WETH first: the pool price is now ~4% under what the model saw
        weth.mint(address(this), 20e18);
        pool.swap(address(weth), 20e18, 0, address(this));
        expectRevert(address(vault), _trade("", pub), "slippage");
    }
}
