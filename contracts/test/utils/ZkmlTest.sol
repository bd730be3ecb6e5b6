// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

/// @dev The few Foundry cheatcodes the tests use, declared here because forge-std is not
/// available offline (forge 1.7.1 implements all of them).
interface Vm {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonUintArray(string calldata json, string calldata key) external pure returns (uint256[] memory);
    function parseJsonIntArray(string calldata json, string calldata key) external pure returns (int256[] memory);
    function prank(address sender) external;
    function chainId(uint256 newChainId) external;
}

/// @notice Minimal test base: fixture loading, verifier deployment, assertions and gas logs.
/// Fixtures come from scripts/make-fixtures.sh (contracts/test/fixtures/*.json).
abstract contract ZkmlTest {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev ds-test log events: forge prints them with -vv.
    event log_named_uint(string key, uint256 val);
    event log_named_string(string key, string val);

    struct Sample {
        bytes proof;
        bytes tamperedProof;
        uint256[] publicInputs;
    }

    function loadFixture(string memory model) internal view returns (string memory) {
        return vm.readFile(string.concat("contracts/test/fixtures/", model, ".json"));
    }

    function sample(string memory json, uint256 i) internal pure returns (Sample memory s) {
        string memory k = string.concat(".samples[", _str(i), "]");
        s.proof = vm.parseJsonBytes(json, string.concat(k, ".proof"));
        s.tamperedProof = vm.parseJsonBytes(json, string.concat(k, ".tampered_proof"));
        s.publicInputs = vm.parseJsonUintArray(json, string.concat(k, ".public_inputs"));
    }

    /// @dev Deploys the generated Halo2Verifier from its creation bytecode.
    function deployVerifier(string memory json) internal returns (address v) {
        bytes memory code = vm.parseJsonBytes(json, ".verifier_bytecode");
        assembly {
            v := create(0, add(code, 0x20), mload(code))
        }
        require(v != address(0) && v.code.length > 0, "verifier deployment failed");
    }

    /// @dev The verifier must reject `proof`: by returning false, or by reverting (the
    /// contracts treat both as "invalid proof"). Logs which.
    function assertVerifierRejects(address verifier, bytes memory proof, uint256[] memory pub, string memory what)
        internal
    {
        (bool ok, bytes memory ret) =
            verifier.staticcall(abi.encodeWithSignature("verify(bytes,uint256[])", proof, pub));
        if (ok) {
            require(!abi.decode(ret, (bool)), string.concat("verifier accepted ", what));
            emit log_named_string(what, "verify returned false");
        } else {
            emit log_named_string(what, "verify reverted");
        }
    }

    /// @dev Calls `target` with `data` and requires a revert with Error(`reason`).
    function expectRevert(address target, bytes memory data, string memory reason) internal {
        (bool ok, bytes memory ret) = target.call(data);
        require(!ok, string.concat("expected revert: ", reason));
        bytes memory want = abi.encodeWithSignature("Error(string)", reason);
        if (keccak256(ret) != keccak256(want)) {
            string memory got = ret.length >= 68 ? abi.decode(_tail(ret, 4), (string)) : "<no reason>";
            revert(string.concat("expected revert '", reason, "', got '", got, "'"));
        }
    }

    /// @dev Calls `target` with `data`, requires success, logs and returns the gas used.
    function measure(string memory label, address target, bytes memory data) internal returns (bytes memory ret) {
        uint256 g = gasleft();
        bool ok;
        (ok, ret) = target.call(data);
        g -= gasleft();
        if (!ok) {
            string memory why = ret.length >= 68 ? abi.decode(_tail(ret, 4), (string)) : "<no reason>";
            revert(string.concat(label, " reverted: ", why));
        }
        emit log_named_uint(string.concat("gas ", label), g);
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", _str(a), " != ", _str(b)));
    }

    function assertTrue(bool c, string memory what) internal pure {
        require(c, what);
    }

    function _tail(bytes memory b, uint256 from) private pure returns (bytes memory t) {
        t = new bytes(b.length - from);
        for (uint256 i = 0; i < t.length; ++i) {
            t[i] = b[from + i];
        }
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 n;
        for (uint256 x = v; x != 0; x /= 10) {
            ++n;
        }
        bytes memory s = new bytes(n);
        for (; v != 0; v /= 10) {
            s[--n] = bytes1(uint8(48 + (v % 10)));
        }
        return string(s);
    }
}
