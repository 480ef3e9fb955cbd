//! The checked-in artifacts (`contracts/artifacts/*.json`, which the Rust bindings are generated
//! from) are exactly what the pinned solc-js makes of `contracts/src/*.sol`: the build is
//! reproducible and nobody can change the Solidity without the artifacts following.

mod common;

#[test]
fn artifacts_match_a_fresh_build_of_the_sources() {
    if !common::kit("artifacts::artifacts_match_a_fresh_build_of_the_sources") {
        return;
    }
    let out = common::evm_sh(&["build", "--check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/evm.sh build --check failed:\n{stdout}\n{stderr}"
    );
    for name in ["PoolOracle", "PoolShares"] {
        assert!(
            stdout.contains(&format!("{name}: artifact matches a fresh build")),
            "{name} not checked:\n{stdout}"
        );
    }
}

#[test]
fn artifacts_record_the_pinned_compiler() {
    for name in ["PoolOracle", "PoolShares"] {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("artifacts/{name}.json"));
        let text = std::fs::read_to_string(&path).expect("artifact readable");
        let json: serde_json::Value = serde_json::from_str(&text).expect("artifact is JSON");
        let version = json["compiler"]["version"]
            .as_str()
            .expect("compiler version");
        assert!(
            version.starts_with("0.8.30+"),
            "{name}: compiled by {version}"
        );
        assert_eq!(json["settings"]["evmVersion"], "prague");
        let bytecode = json["bytecode"].as_str().expect("bytecode");
        assert!(
            bytecode.starts_with("0x") && bytecode.len() > 1000,
            "{name}: bytecode"
        );
    }
}
