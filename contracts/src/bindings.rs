//! ABI bindings generated from the checked-in artifacts (`contracts/artifacts/*.json`, built by
//! `scripts/evm.sh build` with the pinned solc-js; `tests/artifacts.rs` checks they match a
//! fresh build of `contracts/src/*.sol`).

#![expect(
    clippy::too_many_arguments,
    reason = "the generated deploy functions take the constructor's parameters"
)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    PoolOracle,
    "artifacts/PoolOracle.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    PoolShares,
    "artifacts/PoolShares.json"
);
