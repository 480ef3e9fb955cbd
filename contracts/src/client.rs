//! The contracts over JSON-RPC: deploy, set committees, submit certified reports, read state,
//! fund and claim. Every transaction is an EIP-1559 transaction signed by the [`Chain`]'s local
//! key; a refusal comes back as [`Error::Rejected`] with the contract's decoded custom error.
//!
//! Invariant: a submission is sent only when its certificate is for the report being sent
//! ([`Submission::from_certificate`]); a mined but reverted transaction is replayed with
//! `eth_call` on the state after its block to name the reason (e.g. another member's
//! submission of the same frame landed first: `StaleFrame`).

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::eips::BlockId;
use alloy::network::{Ethereum, TransactionBuilder};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolInterface;
use types::{Address, Hash256, SignatureBytes, U256, Version};

use pool_registry::report::FrameReport;

use crate::bindings::{PoolOracle, PoolShares};
use crate::bls::{Committee, g2_to_eip2537, parse_signature};
use crate::certificate::{OracleState, QuorumCertificate};
use crate::error::{Error, Rejection, Result};
use crate::report::EncodedReport;

/// A connection to a node with the key that signs transactions.
#[derive(Debug, Clone)]
pub struct Chain {
    provider: DynProvider,
    sender: Address,
}

impl Chain {
    /// Connects to `rpc` (HTTP JSON-RPC); `signer` signs every transaction.
    pub fn connect(rpc: url::Url, signer: PrivateKeySigner) -> Self {
        let sender = signer.address();
        // The nonce is read from the node for every transaction: a cached nonce advances on a
        // transaction refused at estimation and the next one would wait forever.
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(signer)
            .connect_http(rpc)
            .erased();
        Self { provider, sender }
    }

    /// The account that sends transactions.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// The provider (for reads this crate does not wrap).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The balance of `account` (wei).
    pub async fn balance(&self, account: Address) -> Result<U256> {
        self.provider
            .get_balance(account)
            .await
            .map_err(|source| Error::Rpc {
                call: "eth_getBalance",
                source: Box::new(source),
            })
    }

    /// Sends `value` wei to `to`.
    pub async fn transfer(&self, to: Address, value: U256) -> Result<TxOutcome> {
        let tx = TransactionRequest::default()
            .with_from(self.sender)
            .with_to(to)
            .with_value(value);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|source| Error::Rpc {
                call: "transfer",
                source: Box::new(source),
            })?;
        let receipt = pending
            .get_receipt()
            .await
            .map_err(|source| Error::Pending {
                call: "transfer",
                source: Box::new(source),
            })?;
        let outcome = TxOutcome::from_receipt(&receipt);
        if !receipt.status() {
            return Err(Error::Reverted {
                tx_hash: outcome.tx_hash,
            });
        }
        Ok(outcome)
    }
}

/// A mined transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxOutcome {
    /// Its hash.
    pub tx_hash: Hash256,
    /// The block it is in.
    pub block_number: u64,
    /// Gas it used (the whole transaction: intrinsic, calldata and execution).
    pub gas_used: u64,
}

impl TxOutcome {
    fn from_receipt(receipt: &TransactionReceipt) -> Self {
        Self {
            tx_hash: receipt.transaction_hash,
            block_number: receipt.block_number.unwrap_or_default(),
            gas_used: receipt.gas_used,
        }
    }
}

/// Sends `call`; a refusal (at estimation or, replayed, after mining) is decoded with `E`.
async fn transact<D, E>(
    name: &'static str,
    call: CallBuilder<&DynProvider, D, Ethereum>,
) -> Result<TransactionReceipt>
where
    D: CallDecoder,
    E: SolInterface + Into<Rejection>,
{
    let decode = |source: alloy::contract::Error| match source.as_decoded_interface_error::<E>() {
        Some(e) => Error::Rejected(e.into()),
        None => Error::Contract {
            call: name,
            source: Box::new(source),
        },
    };
    let pending = call.send().await.map_err(decode)?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|source| Error::Pending {
            call: name,
            source: Box::new(source),
        })?;
    if receipt.status() {
        return Ok(receipt);
    }
    let tx_hash = receipt.transaction_hash;
    // Replay on the state after its block: a transaction that passed estimation and reverted
    // lost a race inside that block (e.g. another member's submission of the same frame).
    let block = receipt.block_number.unwrap_or_default();
    match call.block(BlockId::number(block)).call().await {
        Err(e) => Err(decode(e)),
        Ok(_) => Err(Error::Reverted { tx_hash }),
    }
}

/// What `PoolOracle` is deployed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleParams {
    /// Who sets committees and limits.
    pub admin: Address,
    /// The chain's genesis validators root.
    pub genesis_validators_root: Hash256,
    /// The chain's `GENESIS_FORK_VERSION`.
    pub genesis_fork_version: Version,
    /// The positive-rebase limit (1e9 = 100 %; the registry's `max_positive_rebase_1e9`).
    pub max_positive_rebase_1e9: u32,
    /// Where the chain of reports starts.
    pub anchor: Anchor,
}

/// The last final report before the contract existed, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Its root (zero: none, the first report has a zero previous root).
    pub root: Hash256,
    /// The first frame that may be reported.
    pub next_frame: u64,
    /// Its rate (1e18 without one).
    pub rate: u128,
}

impl Default for Anchor {
    fn default() -> Self {
        Self {
            root: Hash256::ZERO,
            next_frame: 0,
            rate: 1_000_000_000_000_000_000,
        }
    }
}

/// A report ready for `submitReport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Fields and witness.
    pub report: EncodedReport,
    /// The membership epoch whose committee signed.
    pub committee_id: u32,
    /// Bit i = member i signed.
    pub signers: U256,
    /// The aggregate signature, EIP-2537 encoding.
    pub signature: [u8; 256],
}

impl Submission {
    /// A submission of `report` with the given signers and aggregate signature, whatever they
    /// certify (the contract decides; tests send faulty ones on purpose).
    pub fn new(
        report: &FrameReport,
        committee_id: u32,
        signers: U256,
        signature: &SignatureBytes,
    ) -> Result<Self> {
        Ok(Self {
            report: EncodedReport::new(report)?,
            committee_id,
            signers,
            signature: g2_to_eip2537(&parse_signature(signature)?),
        })
    }

    /// A submission of `report` under its certificate; refused when the certificate is for
    /// another frame or root.
    pub fn from_certificate(
        report: &FrameReport,
        certificate: &QuorumCertificate,
        committee_id: u32,
    ) -> Result<Self> {
        let submission = Self::new(
            report,
            committee_id,
            certificate.signers,
            &certificate.aggregate_signature,
        )?;
        if certificate.frame != report.frame || certificate.report_root != submission.report.root {
            return Err(Error::CertificateMismatch {
                cert_frame: certificate.frame,
                cert_root: certificate.report_root,
                frame: report.frame,
                root: submission.report.root,
            });
        }
        Ok(submission)
    }

    fn signature_words(&self) -> [Hash256; 8] {
        std::array::from_fn(|i| Hash256::from_slice(&self.signature[i * 32..(i + 1) * 32]))
    }
}

/// A deployed `PoolOracle`.
#[derive(Debug, Clone)]
pub struct Oracle {
    chain: Chain,
    address: Address,
}

impl Oracle {
    /// Deploys `PoolOracle`; returns it with the deployment's outcome.
    pub async fn deploy(chain: &Chain, params: &OracleParams) -> Result<(Self, TxOutcome)> {
        let builder = PoolOracle::deploy_builder(
            &chain.provider,
            params.admin,
            params.genesis_validators_root,
            params.genesis_fork_version,
            params.max_positive_rebase_1e9,
            params.anchor.root,
            params.anchor.next_frame,
            params.anchor.rate,
        );
        let receipt =
            transact::<_, PoolOracle::PoolOracleErrors>("deploy PoolOracle", builder).await?;
        let address = receipt.contract_address.ok_or(Error::Reverted {
            tx_hash: receipt.transaction_hash,
        })?;
        Ok((Self::at(chain, address), TxOutcome::from_receipt(&receipt)))
    }

    /// The oracle at `address`.
    pub fn at(chain: &Chain, address: Address) -> Self {
        Self {
            chain: chain.clone(),
            address,
        }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.address
    }

    fn contract(&self) -> PoolOracle::PoolOracleInstance<DynProvider> {
        PoolOracle::new(self.address, self.chain.provider.clone())
    }

    /// Sets the committee of the next membership epoch, from frame `from_frame` (admin only).
    /// Returns the committee id.
    pub async fn set_committee(
        &self,
        from_frame: u64,
        committee: &Committee,
    ) -> Result<(u32, TxOutcome)> {
        let contract = self.contract();
        let call = contract.setCommittee(
            from_frame,
            committee.quorum(),
            committee.encoded_keys().into(),
        );
        let receipt = transact::<_, PoolOracle::PoolOracleErrors>("setCommittee", call).await?;
        let event = receipt
            .decoded_log::<PoolOracle::CommitteeSet>()
            .ok_or(Error::Reverted {
                tx_hash: receipt.transaction_hash,
            })?;
        Ok((event.data.id, TxOutcome::from_receipt(&receipt)))
    }

    /// Changes the positive-rebase limit (admin only).
    pub async fn set_max_positive_rebase(&self, limit_1e9: u32) -> Result<TxOutcome> {
        let contract = self.contract();
        let receipt = transact::<_, PoolOracle::PoolOracleErrors>(
            "setMaxPositiveRebase",
            contract.setMaxPositiveRebase(limit_1e9),
        )
        .await?;
        Ok(TxOutcome::from_receipt(&receipt))
    }

    /// Submits a certified report: one transaction.
    pub async fn submit_report(
        &self,
        report: &FrameReport,
        certificate: &QuorumCertificate,
        committee_id: u32,
    ) -> Result<TxOutcome> {
        self.submit(&Submission::from_certificate(
            report,
            certificate,
            committee_id,
        )?)
        .await
    }

    /// Submits a prepared submission as it is.
    pub async fn submit(&self, submission: &Submission) -> Result<TxOutcome> {
        let contract = self.contract();
        let call = contract.submitReport(
            submission.report.fields.clone(),
            submission.report.witness.clone(),
            submission.committee_id,
            submission.signers,
            submission.signature_words().map(Into::into),
        );
        let receipt = transact::<_, PoolOracle::PoolOracleErrors>("submitReport", call).await?;
        Ok(TxOutcome::from_receipt(&receipt))
    }

    /// The oracle's state.
    pub async fn state(&self) -> Result<OracleState> {
        let c = self.contract();
        let err = |call| {
            move |source| Error::Contract {
                call,
                source: Box::new(source),
            }
        };
        Ok(OracleState {
            last_report_root: c
                .lastReportRoot()
                .call()
                .await
                .map_err(err("lastReportRoot"))?,
            next_frame: c.nextFrame().call().await.map_err(err("nextFrame"))?,
            rate: c.rate().call().await.map_err(err("rate"))?,
            max_positive_rebase_1e9: c
                .maxPositiveRebase1e9()
                .call()
                .await
                .map_err(err("maxPositiveRebase1e9"))?,
            rewards_root: c.rewardsRoot().call().await.map_err(err("rewardsRoot"))?,
        })
    }

    /// The reports accepted from block `from_block` on, in order (`ReportAccepted` events).
    pub async fn accepted_reports(&self, from_block: u64) -> Result<Vec<AcceptedReport>> {
        let contract = self.contract();
        let logs = contract
            .ReportAccepted_filter()
            .from_block(from_block)
            .query()
            .await
            .map_err(|source| Error::Contract {
                call: "ReportAccepted logs",
                source: Box::new(source),
            })?;
        Ok(logs
            .into_iter()
            .map(|(e, log)| AcceptedReport {
                frame: e.frame,
                root: e.root,
                reference_slot: e.referenceSlot,
                rate: e.rate,
                share_supply: e.shareSupply,
                shares_minted: e.sharesMinted,
                rewards_root: e.rewardsRoot,
                committee_id: e.committeeId,
                signers: e.signers,
                tx_hash: log.transaction_hash.unwrap_or_default(),
                block_number: log.block_number.unwrap_or_default(),
            })
            .collect())
    }

    /// The committees set so far: `(from_frame, size, quorum)` by id.
    pub async fn committees(&self) -> Result<Vec<(u64, u16, u16)>> {
        let c = self.contract();
        let count = c
            .committeeCount()
            .call()
            .await
            .map_err(|source| Error::Contract {
                call: "committeeCount",
                source: Box::new(source),
            })?;
        let mut out = Vec::with_capacity(count as usize);
        for id in 0..count {
            let r = c
                .committee(id)
                .call()
                .await
                .map_err(|source| Error::Contract {
                    call: "committee",
                    source: Box::new(source),
                })?;
            out.push((r.fromFrame, r.size, r.quorum));
        }
        Ok(out)
    }

    /// The root the contract computes from a report's fields and witness (a view call).
    pub async fn report_root(&self, report: &EncodedReport) -> Result<Hash256> {
        self.contract()
            .reportRoot(report.fields.clone(), report.witness.clone())
            .call()
            .await
            .map_err(|source| Error::Contract {
                call: "reportRoot",
                source: Box::new(source),
            })
    }

    /// The signing root the contract derives for a report root (a view call).
    pub async fn signing_root(&self, report_root: Hash256) -> Result<Hash256> {
        self.contract()
            .signingRoot(report_root)
            .call()
            .await
            .map_err(|source| Error::Contract {
                call: "signingRoot",
                source: Box::new(source),
            })
    }

    /// The contract's hash-to-G2 of `message` (EIP-2537 encoding; a view call).
    pub async fn hash_to_g2(&self, message: Hash256) -> Result<Vec<u8>> {
        let point = self
            .contract()
            .hashToG2(message)
            .call()
            .await
            .map_err(|source| Error::Contract {
                call: "hashToG2",
                source: Box::new(source),
            })?;
        Ok(point.to_vec())
    }
}

/// A report the oracle accepted (its `ReportAccepted` event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedReport {
    /// Frame.
    pub frame: u64,
    /// `hash_tree_root(PoolReport)`.
    pub root: Hash256,
    /// Reference slot.
    pub reference_slot: u64,
    /// New rate.
    pub rate: U256,
    /// Share supply the report used.
    pub share_supply: U256,
    /// Shares minted for fees.
    pub shares_minted: U256,
    /// Rewards Merkle root.
    pub rewards_root: Hash256,
    /// The committee (membership epoch) that certified it.
    pub committee_id: u32,
    /// Who signed.
    pub signers: U256,
    /// The transaction.
    pub tx_hash: Hash256,
    /// Its block.
    pub block_number: u64,
}

/// A claim's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimOutcome {
    /// Wei paid.
    pub amount: U256,
    /// Where.
    pub to: Address,
    /// The transaction.
    pub tx: TxOutcome,
}

/// A deployed `PoolShares`.
#[derive(Debug, Clone)]
pub struct Shares {
    chain: Chain,
    address: Address,
}

impl Shares {
    /// Deploys `PoolShares` reading `oracle`, administered by `admin`.
    pub async fn deploy(
        chain: &Chain,
        oracle: Address,
        admin: Address,
    ) -> Result<(Self, TxOutcome)> {
        let builder = PoolShares::deploy_builder(&chain.provider, oracle, admin);
        let receipt =
            transact::<_, PoolShares::PoolSharesErrors>("deploy PoolShares", builder).await?;
        let address = receipt.contract_address.ok_or(Error::Reverted {
            tx_hash: receipt.transaction_hash,
        })?;
        Ok((Self::at(chain, address), TxOutcome::from_receipt(&receipt)))
    }

    /// The contract at `address`.
    pub fn at(chain: &Chain, address: Address) -> Self {
        Self {
            chain: chain.clone(),
            address,
        }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.address
    }

    fn contract(&self) -> PoolShares::PoolSharesInstance<DynProvider> {
        PoolShares::new(self.address, self.chain.provider.clone())
    }

    /// Sets where operator `operator_id`'s fees are paid (admin only).
    pub async fn set_reward_address(&self, operator_id: u64, to: Address) -> Result<TxOutcome> {
        let contract = self.contract();
        let receipt = transact::<_, PoolShares::PoolSharesErrors>(
            "setRewardAddress",
            contract.setRewardAddress(U256::from(operator_id), to),
        )
        .await?;
        Ok(TxOutcome::from_receipt(&receipt))
    }

    /// Claims operator `operator_id`'s fees up to `cumulative_wei` with its Merkle `proof` from
    /// the last accepted report.
    pub async fn claim(
        &self,
        operator_id: u64,
        cumulative_wei: U256,
        proof: &[Hash256],
    ) -> Result<ClaimOutcome> {
        let contract = self.contract();
        let receipt = transact::<_, PoolShares::PoolSharesErrors>(
            "claim",
            contract.claim(U256::from(operator_id), cumulative_wei, proof.to_vec()),
        )
        .await?;
        let event = receipt
            .decoded_log::<PoolShares::Claimed>()
            .ok_or(Error::Reverted {
                tx_hash: receipt.transaction_hash,
            })?;
        Ok(ClaimOutcome {
            amount: event.data.amount,
            to: event.data.to,
            tx: TxOutcome::from_receipt(&receipt),
        })
    }

    /// Cumulative fees already paid to an operator (wei).
    pub async fn claimed(&self, operator_id: u64) -> Result<U256> {
        self.contract()
            .claimed(U256::from(operator_id))
            .call()
            .await
            .map_err(|source| Error::Contract {
                call: "claimed",
                source: Box::new(source),
            })
    }

    /// The exchange rate of the last accepted report.
    pub async fn exchange_rate(&self) -> Result<U256> {
        self.contract()
            .exchangeRate()
            .call()
            .await
            .map_err(|source| Error::Contract {
                call: "exchangeRate",
                source: Box::new(source),
            })
    }
}
