// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice What PoolShares reads from the oracle.
interface IPoolOracle {
    function rate() external view returns (uint256);
    function rewardsRoot() external view returns (bytes32);
    function nextFrame() external view returns (uint64);
}

/// @title PoolShares: the token's view of the last accepted report, and operator fee claims
/// @notice The exchange rate is the last accepted report's; operators claim their cumulative
/// fees (docs/accounting.md §4: leaf = keccak256(keccak256(abi.encode(operatorId, cumulativeWei))),
/// OpenZeppelin `MerkleProof` over the report's rewards root). Fees are paid in ETH held by this
/// contract (the pool funds it), to the operator's reward address set by the admin.
/// @dev Invariants: `claimed[id]` only grows and never exceeds a cumulative value proven against
/// the current rewards root; it is written before the payment (no re-entrant double payment).
contract PoolShares {
    /// @notice The oracle whose last accepted report this contract reads.
    IPoolOracle public immutable oracle;
    /// @notice Who sets reward addresses.
    address public admin;
    /// @notice Operator id => where its fees are paid.
    mapping(uint256 => address) public rewardAddress;
    /// @notice Operator id => cumulative fees already paid (wei).
    mapping(uint256 => uint256) public claimed;

    /// @notice An operator was paid `amount` (its cumulative fees are now `cumulative`).
    event Claimed(uint256 indexed operatorId, address indexed to, uint256 amount, uint256 cumulative);
    /// @notice An operator's reward address was set.
    event RewardAddressSet(uint256 indexed operatorId, address to);

    /// @notice No report has been accepted yet.
    error NoReport();
    /// @notice The proof does not prove (operatorId, cumulative) under the rewards root.
    error InvalidProof(uint256 operatorId, uint256 cumulative);
    /// @notice Nothing beyond what was already paid.
    error NothingToClaim(uint256 operatorId, uint256 cumulative, uint256 claimed);
    /// @notice The operator has no reward address.
    error NoRewardAddress(uint256 operatorId);
    /// @notice The payment failed (balance too low or the recipient refused it).
    error TransferFailed(address to, uint256 amount);
    /// @notice Caller is not the admin.
    error NotAdmin();

    constructor(IPoolOracle oracle_, address admin_) {
        oracle = oracle_;
        admin = admin_;
    }

    /// @notice Fees are funded in ETH.
    receive() external payable {}

    /// @notice The exchange rate (wei per 1e18 share units) of the last accepted report.
    function exchangeRate() public view returns (uint256) {
        return oracle.rate();
    }

    /// @notice Wei worth of `shares` at the current rate (rounded down).
    function sharesToWei(uint256 shares) external view returns (uint256) {
        return shares * exchangeRate() / 1e18;
    }

    /// @notice Shares worth `amount` wei at the current rate (rounded down).
    function weiToShares(uint256 amount) external view returns (uint256) {
        return amount * 1e18 / exchangeRate();
    }

    /// @notice Sets where operator `operatorId`'s fees are paid.
    function setRewardAddress(uint256 operatorId, address to) external {
        if (msg.sender != admin) revert NotAdmin();
        rewardAddress[operatorId] = to;
        emit RewardAddressSet(operatorId, to);
    }

    /// @notice Pays operator `operatorId` the difference between `cumulative` (proven against the
    /// last accepted report's rewards root) and what it was already paid. Anyone may call it; the
    /// fees go to the operator's reward address.
    function claim(uint256 operatorId, uint256 cumulative, bytes32[] calldata proof) external returns (uint256 amount) {
        bytes32 root = oracle.rewardsRoot();
        if (root == bytes32(0)) revert NoReport();
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(operatorId, cumulative))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(operatorId, cumulative);
        address to = rewardAddress[operatorId];
        if (to == address(0)) revert NoRewardAddress(operatorId);
        uint256 paid = claimed[operatorId];
        if (cumulative <= paid) revert NothingToClaim(operatorId, cumulative, paid);
        amount = cumulative - paid;
        claimed[operatorId] = cumulative;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
        emit Claimed(operatorId, to, amount, cumulative);
    }
}
