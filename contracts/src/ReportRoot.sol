// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice The `PoolReport` fields the oracle uses, passed as values (docs/accounting.md §5.1).
struct ReportFields {
    uint64 version; // leaf 0
    bytes32 genesisValidatorsRoot; // leaf 1
    uint64 frame; // leaf 2
    uint64 referenceSlot; // leaf 5
    bytes32 previousReportRoot; // leaf 7
    uint256 shareSupply; // leaf 10
    uint256 previousRate; // leaf 11
    uint256 rate; // leaf 12
    uint256 sharesMinted; // leaf 13
    bytes32 rewardsRoot; // leaf 20
}

/// @notice The other nodes of the `PoolReport` tree, as hashes (their content is not used).
struct ReportWitness {
    bytes32 firstEpoch; // leaf 3 (uint64 first_epoch)
    bytes32 lastEpoch; // leaf 4 (uint64 last_epoch)
    bytes32 durationSeconds; // leaf 6 (uint64 duration_seconds)
    bytes32 assignmentsAndProtocolBps; // node of leaves 8..9 (assignments_root, protocol_bps)
    bytes32 pooledBeforeAndAfter; // node of leaves 14..15 (pooled_before_wei, pooled_after_wei)
    bytes32 aprBaseTotalsOperators; // node of leaves 16..19 (apr_ppm, cl_balance_base_gwei, totals, operators)
}

/// @title hash_tree_root of a `PoolReport` from the fields the oracle uses
/// @notice `PoolReport` has 21 fields: its tree has 32 leaves (depth 5), leaves 21..31 are zero.
/// Every used field is turned into its SSZ leaf here (uint64 and uint256 little-endian, Bytes32
/// as is), so a certified root binds exactly the values the contract reads; the witness holds
/// the hashes of the unused subtrees. 18 SHA-256 precompile calls.
library ReportRoot {
    // zero-subtree hashes: Z1 = sha256(0 || 0), Z3 = root of 8 zero leaves
    bytes32 internal constant Z1 = 0xf5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b;
    bytes32 internal constant Z3 = 0xc78009fdf07fc56a11f122370658a353aaa542ed63e44c4bc15ff4cd105ab33c;

    /// @notice sha256(a || b) through the precompile, in the scratch words.
    function h(bytes32 a, bytes32 b) private view returns (bytes32 out) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            if iszero(staticcall(gas(), 0x02, 0x00, 0x40, 0x00, 0x20)) { revert(0, 0) }
            out := mload(0x00)
        }
    }

    /// @notice The SSZ leaf of a uint64: 8 little-endian bytes, zero-padded on the right.
    function leaf64(uint64 v) internal pure returns (bytes32) {
        uint256 x = v;
        x = ((x & 0xFF00FF00FF00FF00) >> 8) | ((x & 0x00FF00FF00FF00FF) << 8);
        x = ((x & 0xFFFF0000FFFF0000) >> 16) | ((x & 0x0000FFFF0000FFFF) << 16);
        x = ((x >> 32) | (x << 32)) & 0xFFFFFFFFFFFFFFFF;
        return bytes32(x << 192);
    }

    /// @notice The SSZ leaf of a uint256: its 32 little-endian bytes.
    function leaf256(uint256 x) internal pure returns (bytes32) {
        x = ((x & 0xFF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00) >> 8)
            | ((x & 0x00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF) << 8);
        x = ((x & 0xFFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000) >> 16)
            | ((x & 0x0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF) << 16);
        x = ((x & 0xFFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000) >> 32)
            | ((x & 0x00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF) << 32);
        x = ((x & 0xFFFFFFFFFFFFFFFF0000000000000000FFFFFFFFFFFFFFFF0000000000000000) >> 64)
            | ((x & 0x0000000000000000FFFFFFFFFFFFFFFF0000000000000000FFFFFFFFFFFFFFFF) << 64);
        x = (x >> 128) | (x << 128);
        return bytes32(x);
    }

    /// @notice hash_tree_root(PoolReport).
    function compute(ReportFields calldata r, ReportWitness calldata w) internal view returns (bytes32) {
        bytes32 n0to3 = h(h(leaf64(r.version), r.genesisValidatorsRoot), h(leaf64(r.frame), w.firstEpoch));
        bytes32 n4to7 = h(h(w.lastEpoch, leaf64(r.referenceSlot)), h(w.durationSeconds, r.previousReportRoot));
        bytes32 n8to11 = h(w.assignmentsAndProtocolBps, h(leaf256(r.shareSupply), leaf256(r.previousRate)));
        bytes32 n12to15 = h(h(leaf256(r.rate), leaf256(r.sharesMinted)), w.pooledBeforeAndAfter);
        bytes32 n16to23 = h(w.aprBaseTotalsOperators, h(h(r.rewardsRoot, bytes32(0)), Z1));
        return h(h(h(n0to3, n4to7), h(n8to11, n12to15)), h(n16to23, Z3));
    }
}
