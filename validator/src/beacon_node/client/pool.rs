//! Operation pool submissions that are not validator duties: BLS-to-execution credential
//! changes.

use types::SignedBlsToExecutionChange;
use types::api::GenericResponse;

use super::{BeaconNodeClient, Call};
use crate::beacon_node::error::Result;

impl BeaconNodeClient {
    /// `POST /eth/v1/beacon/pool/bls_to_execution_changes` (a JSON array). The node answers 200
    /// when every change was accepted, or 400 with the rejected items in
    /// [`crate::beacon_node::Error::Status`]`::failures` (indices into `changes`); the others
    /// were accepted.
    pub async fn post_bls_to_execution_changes(
        &self,
        changes: &[SignedBlsToExecutionChange],
    ) -> Result<()> {
        let call = Call::post(
            "eth/v1/beacon/pool/bls_to_execution_changes",
            self.timeouts().subscriptions,
        )
        .json_body(changes)?;
        self.execute(call).await.map(drop)
    }

    /// `GET /eth/v1/beacon/pool/bls_to_execution_changes`: changes the node holds but has not
    /// included yet.
    pub async fn get_bls_to_execution_changes(&self) -> Result<Vec<SignedBlsToExecutionChange>> {
        let call = Call::get(
            "eth/v1/beacon/pool/bls_to_execution_changes",
            self.timeouts().default,
        );
        Ok(self
            .execute_json::<GenericResponse<Vec<SignedBlsToExecutionChange>>>(call)
            .await?
            .data)
    }
}
