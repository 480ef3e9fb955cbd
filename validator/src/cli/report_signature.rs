//! `poolvc report verify --oracle-pubkey`: the report's oracle signature must verify with that
//! key over the report's signing root on the beacon node's chain (`compute_signing_root(root,
//! compute_domain(DOMAIN_POOL_REPORT, GENESIS_FORK_VERSION, genesis_validators_root))`,
//! `docs/accounting.md`). The signature is `--signature`, else the one the pool's reports API
//! serves with the report (`/pool/v1/reports/by-root/{root}`). A missing signature (withheld
//! reports are never signed) or an invalid one fails the verification.

use std::time::Duration;

use types::{ChainSpec, Hash256, PublicKeyBytes, SignatureBytes};

use super::report::VerifyArgs;
use crate::accounting::verify::Verification;
use crate::error::{Error, Result};

/// The outcome of a report's signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureOutcome {
    /// It verifies with the oracle key over the report's signing root on this chain.
    Valid,
    /// It does not verify (another key, another report, another chain, or not a signature).
    Invalid,
    /// The report carries no signature.
    Missing,
}

/// Whether the pool stored the report as withheld, as far as known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolStatus {
    /// Withheld (never signed).
    Withheld,
    /// Final, or not known (the signature was given on the command line).
    FinalOrUnknown,
}

/// A report's signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The key it was checked against.
    pub oracle: PublicKeyBytes,
    /// The outcome.
    pub outcome: SignatureOutcome,
    /// The report's status at the pool.
    pub status: PoolStatus,
}

impl SignatureCheck {
    /// Whether the signature verifies.
    pub fn is_valid(&self) -> bool {
        self.outcome == SignatureOutcome::Valid
    }

    /// The text line.
    pub fn line(&self) -> String {
        let what = match (self.outcome, self.status) {
            (SignatureOutcome::Valid, _) => "valid",
            (SignatureOutcome::Invalid, _) => {
                "INVALID: it does not verify over the report's signing root on this chain"
            }
            (SignatureOutcome::Missing, PoolStatus::Withheld) => {
                "MISSING: the pool withheld the report (withheld reports are never signed)"
            }
            (SignatureOutcome::Missing, PoolStatus::FinalOrUnknown) => {
                "MISSING: the report carries none"
            }
        };
        format!("signature by oracle {}: {what}", self.oracle)
    }

    /// Adds `oracle_pubkey` and `signature` to the JSON output.
    pub fn add_to_json(&self, value: &mut serde_json::Value) {
        value["oracle_pubkey"] = serde_json::json!(self.oracle);
        value["signature"] = serde_json::json!(self.outcome);
    }
}

/// Checks `signature` over the signing root of the report with root `root` on the chain of
/// `genesis_validators_root`, against `oracle`.
pub fn check_report_signature(
    spec: &ChainSpec,
    genesis_validators_root: Hash256,
    root: Hash256,
    signature: Option<&SignatureBytes>,
    oracle: &PublicKeyBytes,
) -> SignatureOutcome {
    let Some(signature) = signature else {
        return SignatureOutcome::Missing;
    };
    let (Ok(key), Ok(signature)) = (
        signer::bls::PublicKey::from_bytes(oracle.as_slice()),
        signer::bls::Signature::from_bytes(signature.as_slice()),
    ) else {
        return SignatureOutcome::Invalid;
    };
    let signing_root =
        pool_registry::report::report_signing_root(spec, genesis_validators_root, root);
    if key.verify(signing_root.as_slice(), &signature) {
        SignatureOutcome::Valid
    } else {
        SignatureOutcome::Invalid
    }
}

/// Refuses `--oracle-pubkey` without a source for the signature (before any I/O).
pub fn check_args(args: &VerifyArgs) -> Result<()> {
    if args.oracle_pubkey.is_some() && args.signature.is_none() && args.pool_api.is_none() {
        return Err(Error::Config(
            "--oracle-pubkey needs the report's signature: give --signature or --pool-api".into(),
        ));
    }
    Ok(())
}

/// The signature and status the reports API serves with a report.
#[derive(serde::Deserialize)]
struct Served {
    signature: Option<SignatureBytes>,
    status: String,
}

/// `GET {api}/pool/v1/reports/by-root/{root}`.
async fn served(api: &str, root: Hash256, timeout: Duration) -> Result<Served> {
    let url = format!(
        "{}/pool/v1/reports/by-root/{root}",
        api.trim_end_matches('/')
    );
    let failed = |detail: String| Error::PoolApi {
        url: url.clone(),
        detail,
    };
    let response = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?
        .get(&url)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(failed(format!("HTTP {status}: {text}")));
    }
    serde_json::from_slice(&body).map_err(|e| failed(format!("invalid JSON: {e}")))
}

/// With `--oracle-pubkey`, finds the report's signature and checks it; `None` without.
pub async fn check(
    args: &VerifyArgs,
    spec: &ChainSpec,
    genesis_validators_root: Hash256,
    outcome: &Verification,
) -> Result<Option<SignatureCheck>> {
    let Some(oracle) = &args.oracle_pubkey else {
        return Ok(None);
    };
    let root = outcome.published_root;
    let (signature, status) = match (&args.signature, &args.pool_api) {
        (Some(signature), _) => (Some(*signature), PoolStatus::FinalOrUnknown),
        (None, Some(api)) => {
            let served = served(api, root, Duration::from_secs(args.timeout_secs)).await?;
            let status = if served.status == "withheld" {
                PoolStatus::Withheld
            } else {
                PoolStatus::FinalOrUnknown
            };
            (served.signature, status)
        }
        // Refused by `check_args` (an error here too).
        (None, None) => return check_args(args).map(|()| None),
    };
    Ok(Some(SignatureCheck {
        oracle: *oracle,
        outcome: check_report_signature(
            spec,
            genesis_validators_root,
            root,
            signature.as_ref(),
            oracle,
        ),
        status,
    }))
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use pool_registry::report::{ReportSigner, report_signing_root};

    use super::*;
    use crate::cli::report::ReportCommand;
    use crate::cli::{Cli, Command};

    #[test]
    fn report_signature_checks() {
        let spec = ChainSpec::minimal();
        let gvr = Hash256::repeat_byte(0x42);
        let root = Hash256::repeat_byte(0x07);
        let key = signer::bls::SecretKey::from_bytes(&[0x11; 32]).unwrap();
        let oracle = ReportSigner::public_key(&key);
        let signature = key
            .sign(report_signing_root(&spec, gvr, root).as_slice())
            .to_bytes();
        let check = |gvr, root, signature: Option<&SignatureBytes>, oracle: &PublicKeyBytes| {
            check_report_signature(&spec, gvr, root, signature, oracle)
        };
        assert_eq!(
            check(gvr, root, Some(&signature), &oracle),
            SignatureOutcome::Valid
        );
        let other_key =
            ReportSigner::public_key(&signer::bls::SecretKey::from_bytes(&[0x12; 32]).unwrap());
        assert_eq!(
            check(gvr, root, Some(&signature), &other_key),
            SignatureOutcome::Invalid,
            "another oracle"
        );
        assert_eq!(
            check(gvr, Hash256::repeat_byte(0x08), Some(&signature), &oracle),
            SignatureOutcome::Invalid,
            "another report"
        );
        assert_eq!(
            check(Hash256::repeat_byte(0x43), root, Some(&signature), &oracle),
            SignatureOutcome::Invalid,
            "another chain"
        );
        assert_eq!(
            check(gvr, root, Some(&SignatureBytes::repeat_byte(0xab)), &oracle),
            SignatureOutcome::Invalid,
            "not a signature"
        );
        assert_eq!(check(gvr, root, None, &oracle), SignatureOutcome::Missing);
        let withheld = SignatureCheck {
            oracle,
            outcome: SignatureOutcome::Missing,
            status: PoolStatus::Withheld,
        };
        assert!(!withheld.is_valid());
        let line = withheld.line();
        assert!(
            line.contains("MISSING") && line.contains("withheld"),
            "{line}"
        );
        let mut json = serde_json::json!({});
        withheld.add_to_json(&mut json);
        assert_eq!(json["signature"], "missing");
    }

    #[test]
    fn signature_flags_parse() {
        let key = "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c";
        let base = [
            "poolvc",
            "report",
            "verify",
            "report.json",
            "--beacon-node",
            "http://127.0.0.1:5052",
            "--registry",
            "registry.toml",
        ];
        let parse = |extra: &[&str]| Cli::try_parse_from(base.iter().chain(extra));
        let Ok(Cli {
            command: Command::Report(ReportCommand::Verify(args)),
        }) = parse(&[
            "--oracle-pubkey",
            key,
            "--pool-api",
            "http://127.0.0.1:5065",
        ])
        else {
            panic!("parses");
        };
        assert_eq!(
            args.oracle_pubkey.map(|k| k.to_string()).as_deref(),
            Some(key)
        );
        assert!(check_args(&args).is_ok());
        let Ok(Cli {
            command: Command::Report(ReportCommand::Verify(args)),
        }) = parse(&["--oracle-pubkey", key])
        else {
            panic!("parses");
        };
        let err = check_args(&args).unwrap_err().to_string();
        assert!(err.contains("--signature or --pool-api"), "{err}");
        let err = parse(&["--oracle-pubkey", "0x1234"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--oracle-pubkey"), "{err}");
        let signature = format!("0x{}", "ab".repeat(96));
        let err = parse(&["--signature", &signature]).unwrap_err().to_string();
        assert!(
            err.contains("--oracle-pubkey"),
            "--signature needs it: {err}"
        );
    }
}
