//! Report signatures: the node's oracle key signs
//! `compute_signing_root(report_root, compute_domain(DOMAIN_POOL_REPORT, GENESIS_FORK_VERSION,
//! genesis_validators_root))`.
//!
//! `DOMAIN_POOL_REPORT = 0x706c7201` ("plr" then 0x01): an application domain, whose last byte
//! is 0x01 like `DOMAIN_APPLICATION_BUILDER`, so no consensus message can ever share its
//! signing root. Binding the genesis fork version and validators root keeps a report of one
//! chain from verifying on another; the fork version is the genesis one so signatures stay
//! valid across forks.

use types::{
    ChainSpec, Domain, DomainType, Hash256, PublicKeyBytes, SignatureBytes, compute_domain,
    compute_signing_root,
};

use super::model::{ReportEnvelope, ReportStatus};
use crate::error::{Error, Result};

/// The application domain type of pool reports.
pub const DOMAIN_POOL_REPORT: DomainType = DomainType::new([0x70, 0x6c, 0x72, 0x01]);

/// Signs report roots with the node's oracle BLS key (the key never leaves the signer).
pub trait ReportSigner: Send + Sync {
    /// The oracle's public key.
    fn public_key(&self) -> PublicKeyBytes;
    /// A BLS signature (`BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`) over `signing_root`.
    fn sign(&self, signing_root: Hash256) -> Result<SignatureBytes>;
}

/// The report domain of a chain.
pub fn report_domain(spec: &ChainSpec, genesis_validators_root: Hash256) -> Domain {
    compute_domain(
        DOMAIN_POOL_REPORT,
        spec.genesis_fork_version(),
        genesis_validators_root,
    )
}

/// The root the oracle signs for a report root.
pub fn report_signing_root(
    spec: &ChainSpec,
    genesis_validators_root: Hash256,
    report_root: Hash256,
) -> Hash256 {
    compute_signing_root(report_root, report_domain(spec, genesis_validators_root))
}

/// Signs a final report in place. Withheld reports are never signed.
pub fn sign_report(
    envelope: &mut ReportEnvelope,
    spec: &ChainSpec,
    signer: &dyn ReportSigner,
) -> Result<()> {
    if envelope.status != ReportStatus::Final {
        return Err(Error::Signing(format!(
            "report of frame {} is withheld and must not be signed",
            envelope.report.frame
        )));
    }
    let root = envelope.report.root()?;
    if root != envelope.root {
        return Err(Error::Signing(format!(
            "report of frame {}: stored root {} does not match the content's root {root}",
            envelope.report.frame, envelope.root
        )));
    }
    let signing_root = report_signing_root(spec, envelope.report.genesis_validators_root, root);
    envelope.signature = Some(signer.sign(signing_root)?);
    envelope.signer = Some(signer.public_key());
    Ok(())
}

/// The oracle key held in memory (loaded from an EIP-2335 keystore by the binary).
impl ReportSigner for signer::bls::SecretKey {
    fn public_key(&self) -> PublicKeyBytes {
        signer::bls::SecretKey::public_key(self).to_bytes()
    }

    fn sign(&self, signing_root: Hash256) -> Result<SignatureBytes> {
        Ok(signer::bls::SecretKey::sign(self, signing_root.as_slice()).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_report_signature_verifies() {
        let key = signer::derivation::interop_secret_key(3).expect("interop key");
        let root = Hash256::repeat_byte(0x42);
        let sig = ReportSigner::sign(&key, root).expect("sign");
        let pubkey = signer::bls::PublicKey::from_bytes(ReportSigner::public_key(&key).as_slice())
            .expect("valid pubkey");
        let parsed = signer::bls::Signature::from_bytes(sig.as_slice()).expect("valid signature");
        assert!(pubkey.verify(root.as_slice(), &parsed));
        assert!(!pubkey.verify(Hash256::repeat_byte(0x43).as_slice(), &parsed));
    }
}
