//! ABI bindings generated from the checked-in artifacts (`contracts/artifacts/*.json`, built by
//! `scripts/evm.sh build` with the pinned solc-js; `tests/artifacts.rs` checks they match a
//! fresh build of `contracts/src/*.sol`).

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
