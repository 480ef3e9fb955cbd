//! BLS-to-execution credential changes: checked like a node's pool checks them (Capella
//! `process_bls_to_execution_change`) and applied to the registry at once, so the next state
//! query shows the new `0x01` credentials.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use types::{
    DomainKind, EthSpec, ForkName, SignedBlsToExecutionChange, SignedRoot,
    bls_withdrawal_credentials, compute_domain, eth1_withdrawal_credentials,
};

use super::{batch_result, data, parse_body};
use crate::testing::verify::verify_with_key;
use crate::testing::{Rejected, Shared};

const ROUTE: &str = "/eth/v1/beacon/pool/bls_to_execution_changes";

/// Checks one change and applies it.
fn accept<E: EthSpec>(
    shared: &Shared<E>,
    change: &SignedBlsToExecutionChange,
) -> Result<(), Rejected> {
    let message = &change.message;
    let head = shared.head_slot();
    let root = {
        let chain = shared.chain.lock();
        let fork = chain.spec.fork_name_at_slot(head);
        if fork < ForkName::Capella {
            return Err(Rejected::new(format!(
                "BLS to execution changes are not valid at fork {fork}"
            )));
        }
        let validator = chain
            .validators
            .get(usize::try_from(message.validator_index).unwrap_or(usize::MAX))
            .ok_or_else(|| {
                Rejected::new(format!("unknown validator {}", message.validator_index))
            })?;
        let credentials = validator.validator.withdrawal_credentials;
        if credentials[0] != types::BLS_WITHDRAWAL_PREFIX {
            return Err(Rejected::new(format!(
                "validator {} does not have BLS withdrawal credentials",
                message.validator_index
            )));
        }
        if bls_withdrawal_credentials(&message.from_bls_pubkey)[1..] != credentials[1..] {
            return Err(Rejected::new(format!(
                "from_bls_pubkey does not match validator {}'s withdrawal credentials",
                message.validator_index
            )));
        }
        // Built here from the genesis fork version, not through the client's own helper.
        let domain = compute_domain(
            chain.spec.domain_type(DomainKind::BlsToExecutionChange),
            chain.spec.genesis_fork_version(),
            chain.genesis_validators_root,
        );
        message.signing_root(domain)
    };
    if shared.faults.lock().verify {
        verify_with_key(&message.from_bls_pubkey, root, &change.signature)?;
    }
    let mut chain = shared.chain.lock();
    let validator = chain
        .validators
        .get_mut(usize::try_from(message.validator_index).unwrap_or(usize::MAX))
        .ok_or_else(|| Rejected::new("validator vanished"))?;
    // Another request may have changed it meanwhile: a change applies once.
    if validator.validator.withdrawal_credentials[0] != types::BLS_WITHDRAWAL_PREFIX {
        return Err(Rejected::new(format!(
            "validator {} does not have BLS withdrawal credentials",
            message.validator_index
        )));
    }
    validator.validator.withdrawal_credentials =
        eth1_withdrawal_credentials(message.to_execution_address);
    drop(chain);
    shared.records.lock().bls_changes.push(*change);
    Ok(())
}

/// `POST /eth/v1/beacon/pool/bls_to_execution_changes`.
pub(crate) async fn submit<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    body: Bytes,
) -> Response {
    let changes = match parse_body::<Vec<SignedBlsToExecutionChange>>(&body) {
        Ok(changes) => changes,
        Err(response) => return response.into_response(),
    };
    let failures = changes
        .iter()
        .enumerate()
        .filter_map(|(i, change)| accept(&shared, change).err().map(|reason| (i, reason)))
        .collect();
    batch_result(&shared, ROUTE, failures)
}

/// `GET /eth/v1/beacon/pool/bls_to_execution_changes`: the accepted changes, as a node's pool
/// holds them until they are included.
pub(crate) async fn pool<E: EthSpec>(State(shared): State<Arc<Shared<E>>>) -> Response {
    data(shared.records.lock().bls_changes.clone())
}
