//! `POST /eth/v1/validator/{pubkey}/voluntary_exit`: the exit is signed over
//! `DOMAIN_VOLUNTARY_EXIT` with the Capella fork version on a Deneb chain (EIP-7044).

use reqwest::{Method, StatusCode};
use signer::bls::{PublicKey, Signature};
use types::{
    DomainType, Epoch, ForkName, SignatureBytes, SignedRoot, VoluntaryExit, compute_domain,
};

use crate::harness::{self, Api, pubkey};

/// `DOMAIN_VOLUNTARY_EXIT` (phase0 constant).
const DOMAIN_VOLUNTARY_EXIT: [u8; 4] = [4, 0, 0, 0];

#[tokio::test]
async fn exits_are_signed_over_the_capella_domain_from_deneb_on() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 4);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let spec = harness::spec(ForkName::Deneb);
    let gvr = node.genesis_validators_root;
    let capella = compute_domain(
        DomainType::from(DOMAIN_VOLUNTARY_EXIT),
        spec.fork_version(ForkName::Capella).unwrap(),
        gvr,
    );
    let deneb = compute_domain(
        DomainType::from(DOMAIN_VOLUNTARY_EXIT),
        spec.fork_version(ForkName::Deneb).unwrap(),
        gvr,
    );
    assert_ne!(capella, deneb);

    for (query, expected_epoch) in [
        ("?epoch=1".to_owned(), Some(Epoch(1))),
        (String::new(), None),
    ] {
        let path = format!("/eth/v1/validator/{}/voluntary_exit{query}", pubkey(3));
        let (status, body) = api.send(Method::POST, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let exit: VoluntaryExit = serde_json::from_value(body["data"]["message"].clone()).unwrap();
        assert_eq!(exit.validator_index, 3);
        let current = spec.compute_epoch_at_slot(node.slot());
        match expected_epoch {
            Some(epoch) => assert_eq!(exit.epoch, epoch),
            // The current epoch by default (the epoch may have turned meanwhile).
            None => assert!(
                exit.epoch + 1 >= current && exit.epoch <= current,
                "{exit:?}"
            ),
        }
        let signature: SignatureBytes =
            serde_json::from_value(body["data"]["signature"].clone()).unwrap();
        let signature = Signature::try_from(&signature).unwrap();
        let key = PublicKey::try_from(&pubkey(3)).unwrap();
        assert!(
            key.verify(exit.signing_root(capella).as_slice(), &signature),
            "verifies over the Capella-version domain"
        );
        assert!(
            !key.verify(exit.signing_root(deneb).as_slice(), &signature),
            "not over the current fork's domain"
        );
    }

    let unknown = format!("/eth/v1/validator/{}/voluntary_exit", pubkey(50));
    let (status, body) = api.send(Method::POST, &unknown, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for query in ["?epoch=x", "?epoch=-1", "?epoch=1&epoch=2", "?when=1"] {
        let path = format!("/eth/v1/validator/{}/voluntary_exit{query}", pubkey(3));
        let (status, body) = api.send(Method::POST, &path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
    }
    running.stop().await;
}
