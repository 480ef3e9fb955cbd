// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Bls12381} from "./Bls12381.sol";
import {ReportFields, ReportWitness, ReportRoot} from "./ReportRoot.sol";

/// @title PoolOracle: accepts a pool frame report certified by a BLS quorum, in one transaction
/// @notice A committee (per membership epoch, set by the admin) signs `report_signing_root(root)`
/// of each frame report (docs/accounting.md §5.3); a certificate carries the signers as a bit mask
/// (bit i = member i) and their aggregate signature. `submitReport` recomputes the report root
/// from the field values it uses, verifies the aggregate signature on-chain (hash-to-G2, pairing)
/// and the chain of reports, re-checks the positive-rebase limit and stores the new state.
/// The normative description is docs/accounting.md, "On-chain acceptance".
/// @dev Invariants: an accepted report's frame is >= nextFrame and its previous root equals the
/// last accepted root, so reports form one chain and no frame is accepted twice; a committee
/// applies from its first frame until the next committee's; committee keys are stored once, as
/// the code of a data contract (EXTCODECOPY is 3 gas a word after one cold access), negated, with
/// the sum of all keys in front, so the aggregate of the signers is that sum plus the negated
/// keys of the non-signers (always fewer than half, quorum > N/2).
contract PoolOracle {
    /// @notice DOMAIN_POOL_REPORT (docs/accounting.md §5.3).
    bytes4 public constant DOMAIN_POOL_REPORT = 0x706c7201;
    /// @notice The report format this contract reads.
    uint64 public constant REPORT_VERSION = 1;
    /// @notice Largest committee (the signer mask is a uint256).
    uint256 public constant MAX_MEMBERS = 256;
    /// @notice Keys per data contract (chunk): 161 + 128 * 128 bytes stays below EIP-170's 24,576.
    uint256 internal constant CHUNK_KEYS = 128;
    /// @notice Offset of the first key in a chunk's code: STOP, total key (128), next chunk (32).
    uint256 internal constant KEYS_OFFSET = 161;

    /// @notice The chain (genesis validators root) reports must name.
    bytes32 public immutable genesisValidatorsRoot;
    /// @notice compute_domain(DOMAIN_POOL_REPORT, genesis fork version, genesis validators root).
    bytes32 public immutable domain;

    /// @notice Root of the last accepted report (or the anchor).
    bytes32 public lastReportRoot;
    /// @notice Rewards Merkle root (docs/accounting.md §4) of the last accepted report.
    bytes32 public rewardsRoot;
    /// @dev Packed: rate (uint128) | nextFrame (uint64) << 128 | maxPositiveRebase1e9 (uint32) << 192
    ///      | committeeCount (uint32) << 224. One slot: read once and written once per report.
    uint256 private state;
    /// @dev Committee id => data contract (160 bits) | fromFrame (uint64) << 160 | size (uint16) << 224
    ///      | quorum (uint16) << 240.
    mapping(uint256 => uint256) private committees;
    /// @notice Who sets committees and limits.
    address public admin;

    /// @notice A report was accepted.
    event ReportAccepted(
        uint64 indexed frame,
        bytes32 indexed root,
        uint64 referenceSlot,
        uint256 rate,
        uint256 shareSupply,
        uint256 sharesMinted,
        bytes32 rewardsRoot,
        uint32 committeeId,
        uint256 signers
    );
    /// @notice A committee was set (membership epoch `id`), applying from frame `fromFrame`.
    event CommitteeSet(uint32 indexed id, uint64 fromFrame, uint16 size, uint16 quorum, address keys);
    /// @notice The positive-rebase limit changed.
    event MaxPositiveRebaseSet(uint32 maxPositiveRebase1e9);
    /// @notice The admin changed.
    event AdminChanged(address admin);

    /// @notice The report's format version is not REPORT_VERSION.
    error UnsupportedVersion(uint64 version);
    /// @notice The report names another chain.
    error WrongChain(bytes32 genesisValidatorsRoot);
    /// @notice The frame was already reported or is older than the last accepted one.
    error StaleFrame(uint64 frame, uint64 nextFrame);
    /// @notice previous_report_root is not the last accepted report's root.
    error BrokenChain(bytes32 expected, bytes32 got);
    /// @notice previous_rate is not the last accepted rate.
    error PreviousRateMismatch(uint256 expected, uint256 got);
    /// @notice The new rate is zero or does not fit 128 bits.
    error InvalidRate(uint256 rate);
    /// @notice The rate grows more than the limit (1e9 = 100 %).
    error PositiveRebaseTooHigh(uint256 rebase1e9, uint256 limit1e9);
    /// @notice No committee with this id.
    error UnknownCommittee(uint32 committeeId);
    /// @notice The committee does not apply to the report's frame.
    error CommitteeNotForFrame(uint32 committeeId, uint64 frame);
    /// @notice Signer bits beyond the committee's size.
    error NotAMember(uint256 bits);
    /// @notice Fewer signers than the quorum.
    error BelowQuorum(uint256 signers, uint256 quorum);
    /// @notice The aggregate signature does not verify (or a point is invalid).
    error InvalidSignature();
    /// @notice A BLS precompile call failed (EIP-2537 missing).
    error PrecompileFailed();
    /// @notice Caller is not the admin.
    error NotAdmin();
    /// @notice Committee size or quorum out of range (1 <= N <= 256, N/2 < quorum <= N).
    error InvalidCommittee(uint256 size, uint256 quorum);
    /// @notice fromFrame must be >= nextFrame and above the previous committee's.
    error InvalidFromFrame(uint64 fromFrame);
    /// @notice A member key is the point at infinity, repeats another member's x, or is not a G1
    /// subgroup point (index = type(uint256).max when the group check failed).
    error InvalidMemberKey(uint256 index);
    /// @notice Deploying the key data contract failed.
    error KeyStoreFailed();

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    /// @param admin_ who sets committees and limits (governance)
    /// @param genesisValidatorsRoot_ the chain
    /// @param genesisForkVersion the chain's GENESIS_FORK_VERSION
    /// @param maxPositiveRebase1e9_ the positive-rebase limit (750000 = 0.075 %)
    /// @param anchorRoot root of the last final report before this contract (zero for none)
    /// @param anchorNextFrame first frame that may be reported
    /// @param anchorRate the rate of the anchor report (1e18 without one)
    constructor(
        address admin_,
        bytes32 genesisValidatorsRoot_,
        bytes4 genesisForkVersion,
        uint32 maxPositiveRebase1e9_,
        bytes32 anchorRoot,
        uint64 anchorNextFrame,
        uint128 anchorRate
    ) {
        if (anchorRate == 0) revert InvalidRate(0);
        admin = admin_;
        genesisValidatorsRoot = genesisValidatorsRoot_;
        // fork_data_root = hash_tree_root(ForkData(version, gvr)); domain = type || root[:28]
        bytes32 forkDataRoot = sha256(abi.encodePacked(bytes32(genesisForkVersion), genesisValidatorsRoot_));
        domain = bytes32(DOMAIN_POOL_REPORT) | (forkDataRoot >> 32);
        lastReportRoot = anchorRoot;
        state = uint256(anchorRate) | (uint256(anchorNextFrame) << 128) | (uint256(maxPositiveRebase1e9_) << 192);
        emit AdminChanged(admin_);
        emit MaxPositiveRebaseSet(maxPositiveRebase1e9_);
    }

    // ------------------------------------------------------------------ reads

    /// @notice The exchange rate of the last accepted report (wei per 1e18 share units).
    function rate() external view returns (uint256) {
        return uint128(state);
    }

    /// @notice The first frame a report may have.
    function nextFrame() external view returns (uint64) {
        return uint64(state >> 128);
    }

    /// @notice The positive-rebase limit (1e9 = 100 %).
    function maxPositiveRebase1e9() external view returns (uint32) {
        return uint32(state >> 192);
    }

    /// @notice Number of committees set (ids 0 .. count-1).
    function committeeCount() external view returns (uint32) {
        return uint32(state >> 224);
    }

    /// @notice A committee: its key data contract, first frame, size and quorum.
    function committee(uint32 id)
        external
        view
        returns (address keys, uint64 fromFrame, uint16 size, uint16 quorum)
    {
        if (id >= uint32(state >> 224)) revert UnknownCommittee(id);
        uint256 c = committees[id];
        return (address(uint160(c)), uint64(c >> 160), uint16(c >> 224), uint16(c >> 240));
    }

    /// @notice The signing root the committee signs for a report root.
    function signingRoot(bytes32 root) public view returns (bytes32 out) {
        bytes32 d = domain;
        assembly ("memory-safe") {
            mstore(0x00, root)
            mstore(0x20, d)
            if iszero(staticcall(gas(), 0x02, 0x00, 0x40, 0x00, 0x20)) { revert(0, 0) }
            out := mload(0x00)
        }
    }

    /// @notice hash_tree_root(PoolReport) from the used fields and the witness.
    function reportRoot(ReportFields calldata r, ReportWitness calldata w) external view returns (bytes32) {
        return ReportRoot.compute(r, w);
    }

    /// @notice hash_to_curve(message) on G2 (EIP-2537 encoding), exposed for verification.
    function hashToG2(bytes32 message) external view returns (bytes memory point) {
        point = new bytes(256);
        uint256 scratch;
        assembly ("memory-safe") {
            scratch := mload(0x40)
        }
        uint256 out;
        assembly ("memory-safe") {
            out := add(point, 32)
        }
        if (!Bls12381.hashToG2(message, out, scratch)) revert PrecompileFailed();
    }

    // ------------------------------------------------------------------ submit

    /// @notice Accepts a certified frame report.
    /// @param r the used fields of the report (their leaves are computed here)
    /// @param w the hashes of the other subtrees of the report
    /// @param committeeId the membership epoch whose committee signed
    /// @param signers bit i set = member i signed
    /// @param signature the aggregate signature, uncompressed G2 (EIP-2537 encoding, 256 bytes)
    function submitReport(
        ReportFields calldata r,
        ReportWitness calldata w,
        uint32 committeeId,
        uint256 signers,
        bytes32[8] calldata signature
    ) external {
        uint256 s = state;
        uint64 frame = r.frame;
        // The report itself and the chain.
        if (r.version != REPORT_VERSION) revert UnsupportedVersion(r.version);
        if (r.genesisValidatorsRoot != genesisValidatorsRoot) revert WrongChain(r.genesisValidatorsRoot);
        if (frame < uint64(s >> 128)) revert StaleFrame(frame, uint64(s >> 128));
        bytes32 last = lastReportRoot;
        if (r.previousReportRoot != last) revert BrokenChain(last, r.previousReportRoot);
        uint256 previousRate = uint128(s);
        if (r.previousRate != previousRate) revert PreviousRateMismatch(previousRate, r.previousRate);
        uint256 newRate = r.rate;
        if (newRate == 0 || newRate > type(uint128).max) revert InvalidRate(newRate);
        if (newRate > previousRate) {
            uint256 rebase = (newRate - previousRate) * 1e9 / previousRate;
            if (rebase > uint32(s >> 192)) revert PositiveRebaseTooHigh(rebase, uint32(s >> 192));
        }

        // The committee of the frame.
        uint256 count = uint32(s >> 224);
        if (committeeId >= count) revert UnknownCommittee(committeeId);
        uint256 c = committees[committeeId];
        if (frame < uint64(c >> 160)) revert CommitteeNotForFrame(committeeId, frame);
        if (committeeId + 1 < count && frame >= uint64(committees[committeeId + 1] >> 160)) {
            revert CommitteeNotForFrame(committeeId, frame);
        }
        uint256 size = uint16(c >> 224);
        uint256 members = size == 256 ? type(uint256).max : (uint256(1) << size) - 1;
        if (signers & ~members != 0) revert NotAMember(signers & ~members);
        uint256 signed = popcount(signers);
        if (signed < uint16(c >> 240)) revert BelowQuorum(signed, uint16(c >> 240));

        // The root the committee signed, recomputed from the values used below.
        bytes32 root = ReportRoot.compute(r, w);
        verify(address(uint160(c)), members & ~signers, signingRoot(root), signature);

        lastReportRoot = root;
        rewardsRoot = r.rewardsRoot;
        state = newRate | (uint256(frame + 1) << 128) | ((s >> 192) << 192);
        emit ReportAccepted(
            frame, root, r.referenceSlot, newRate, r.shareSupply, r.sharesMinted, r.rewardsRoot, committeeId, signers
        );
    }

    /// @dev Aggregates the signers' keys (sum of all keys + negated non-signer keys, read from the
    /// key data contract), hashes the signing root to G2 and checks the pairing.
    function verify(address keys, uint256 nonSigners, bytes32 message, bytes32[8] calldata signature) private view {
        uint256 buf;
        bool ok = true;
        assembly ("memory-safe") {
            buf := mload(0x40)
            // buf: [0,128) aggregate key | [128,384) H(m) (first: operand for G1ADD) | [384,512)
            // -g1 | [512,768) signature | [768, 2048) hash-to-curve scratch
            mstore(0x40, add(buf, 2048))
            extcodecopy(keys, buf, 1, 128)
            let chunk1 := 0
            for { let i := 0 } nonSigners { i := add(i, 1) } {
                if and(nonSigners, 1) {
                    let src := keys
                    if gt(i, 127) {
                        if iszero(chunk1) {
                            extcodecopy(keys, 0x00, 129, 32)
                            chunk1 := mload(0x00)
                        }
                        src := chunk1
                    }
                    extcodecopy(src, add(buf, 128), add(161, mul(and(i, 127), 128)), 128)
                    ok := and(ok, staticcall(gas(), 0x0b, buf, 256, buf, 128))
                }
                nonSigners := shr(1, nonSigners)
            }
            calldatacopy(add(buf, 512), signature, 256)
        }
        if (!ok) revert PrecompileFailed();
        if (!Bls12381.hashToG2(message, buf + 128, buf + 768)) revert PrecompileFailed();
        bool infinity;
        assembly ("memory-safe") {
            // An aggregate key or signature at infinity is refused (as blst does).
            let k := or(or(mload(buf), mload(add(buf, 32))), or(mload(add(buf, 64)), mload(add(buf, 96))))
            let sg := 0
            for { let o := 512 } lt(o, 768) { o := add(o, 32) } { sg := or(sg, mload(add(buf, o))) }
            infinity := or(iszero(k), iszero(sg))
        }
        if (infinity || !Bls12381.pairingCheck(buf)) revert InvalidSignature();
    }

    function popcount(uint256 x) private pure returns (uint256 n) {
        unchecked {
            while (x != 0) {
                x &= x - 1;
                ++n;
            }
        }
    }

    // ------------------------------------------------------------------ admin

    /// @notice Sets the committee of the next membership epoch, applying from `fromFrame`.
    /// @param keys the members' public keys in member order, each uncompressed G1 in the EIP-2537
    /// encoding (128 bytes). Each must be a G1 subgroup point other than infinity with a proof of
    /// possession checked by the admin (the contracts crate's `Committee` checks them); x
    /// coordinates must be distinct.
    function setCommittee(uint64 fromFrame, uint16 quorum, bytes calldata keys) external onlyAdmin returns (uint32 id) {
        uint256 n = keys.length / 128;
        if (keys.length % 128 != 0 || n == 0 || n > MAX_MEMBERS || quorum > n || uint256(quorum) * 2 <= n) {
            revert InvalidCommittee(n, quorum);
        }
        uint256 s = state;
        id = uint32(s >> 224);
        if (fromFrame < uint64(s >> 128) || (id > 0 && fromFrame <= uint64(committees[id - 1] >> 160))) {
            revert InvalidFromFrame(fromFrame);
        }
        checkDistinct(keys, n);
        // Sum of all keys with G1MSM (scalars 1): the precompile also checks every key is in G1.
        uint256 total;
        bool ok;
        assembly ("memory-safe") {
            let msm := mload(0x40)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                calldatacopy(add(msm, mul(i, 160)), add(keys.offset, mul(i, 128)), 128)
                mstore(add(msm, add(mul(i, 160), 128)), 1)
            }
            total := add(msm, mul(n, 160))
            ok := staticcall(gas(), 0x0c, msm, mul(n, 160), total, 128)
            mstore(0x40, add(total, 128))
        }
        if (!ok) revert InvalidMemberKey(type(uint256).max);
        address chunk1;
        if (n > CHUNK_KEYS) chunk1 = storeKeys(keys, CHUNK_KEYS, n, 0, address(0));
        address data = storeKeys(keys, 0, n < CHUNK_KEYS ? n : CHUNK_KEYS, total, chunk1);
        committees[id] = uint256(uint160(data)) | (uint256(fromFrame) << 160) | (n << 224) | (uint256(quorum) << 240);
        state = (s & ~(uint256(type(uint32).max) << 224)) | (uint256(id + 1) << 224);
        emit CommitteeSet(id, fromFrame, uint16(n), quorum, data);
    }

    /// @dev Reverts unless every key is not infinity and no two keys share an x coordinate
    /// (which also excludes a key and its negation).
    function checkDistinct(bytes calldata keys, uint256 n) private pure {
        for (uint256 i = 0; i < n; ++i) {
            uint256 xi0;
            uint256 xi1;
            uint256 yi;
            assembly ("memory-safe") {
                let o := add(keys.offset, mul(i, 128))
                xi0 := calldataload(o)
                xi1 := calldataload(add(o, 32))
                yi := or(calldataload(add(o, 64)), calldataload(add(o, 96)))
            }
            if ((xi0 | xi1 | yi) == 0) revert InvalidMemberKey(i);
            for (uint256 j = 0; j < i; ++j) {
                bool same;
                assembly ("memory-safe") {
                    let o := add(keys.offset, mul(j, 128))
                    same := and(eq(calldataload(o), xi0), eq(calldataload(add(o, 32)), xi1))
                }
                if (same) revert InvalidMemberKey(i);
            }
        }
    }

    /// @dev Deploys a data contract whose code is STOP || total (128) || next chunk (32) || the
    /// negated keys [from, to) (128 bytes each). `total` points to the 128-byte sum in memory (0:
    /// zeros).
    function storeKeys(bytes calldata keys, uint256 from, uint256 to, uint256 total, address next)
        private
        returns (address data)
    {
        uint256 runtime = KEYS_OFFSET + (to - from) * 128;
        assembly ("memory-safe") {
            let init := mload(0x40)
            // PUSH2 len DUP1 PUSH1 12 PUSH1 0 CODECOPY PUSH1 0 RETURN, then the runtime code
            mstore(init, or(shl(232, or(0x610000, runtime)), shl(160, 0x80600c6000396000f3)))
            let code := add(init, 12)
            mstore8(code, 0)
            switch total
            case 0 {
                mstore(add(code, 1), 0)
                mstore(add(code, 33), 0)
                mstore(add(code, 65), 0)
                mstore(add(code, 97), 0)
            }
            default {
                mstore(add(code, 1), mload(total))
                mstore(add(code, 33), mload(add(total, 32)))
                mstore(add(code, 65), mload(add(total, 64)))
                mstore(add(code, 97), mload(add(total, 96)))
            }
            mstore(add(code, 129), next)
            let pHi := 0x000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd7
            let pLo := 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
            for { let i := from } lt(i, to) { i := add(i, 1) } {
                let src := add(keys.offset, mul(i, 128))
                let dst := add(code, add(161, mul(sub(i, from), 128)))
                calldatacopy(dst, src, 64)
                // -y = p - y over the two words of the 64-byte encoding (y != 0: not infinity)
                let yHi := calldataload(add(src, 64))
                let yLo := calldataload(add(src, 96))
                mstore(add(dst, 64), sub(sub(pHi, yHi), lt(pLo, yLo)))
                mstore(add(dst, 96), sub(pLo, yLo))
            }
            data := create(0, init, add(12, runtime))
        }
        if (data == address(0)) revert KeyStoreFailed();
    }

    /// @notice Sets the positive-rebase limit (1e9 = 100 %).
    function setMaxPositiveRebase(uint32 maxPositiveRebase1e9_) external onlyAdmin {
        state = (state & ~(uint256(type(uint32).max) << 192)) | (uint256(maxPositiveRebase1e9_) << 192);
        emit MaxPositiveRebaseSet(maxPositiveRebase1e9_);
    }

    /// @notice Hands the admin role over.
    function setAdmin(address admin_) external onlyAdmin {
        admin = admin_;
        emit AdminChanged(admin_);
    }
}
