//! [`OracleStore`] on the SQLite ledger database: same file, same durability (WAL,
//! `synchronous=FULL`), one `BEGIN IMMEDIATE` transaction per write.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use types::Hash256;

use super::StoreOutcome;
use super::oracle::{
    OracleStore, certificate_from_ssz, evidence_from_json, evidence_json, membership_from_json,
    membership_json, plan_certificate, plan_own_vote, vote_from_ssz, vote_outcome,
};
use super::sqlite::{SqliteLedgerStore, to_i64};
use crate::error::{Context, Error, Result};
use crate::oracle::{EquivocationEvidence, OracleMembership, OracleVote, QuorumCertificate};

/// The oracle tables (created with the ledger schema).
pub(super) const ORACLE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS oracle_memberships (
    frame INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    membership TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS oracle_own_votes (
    frame INTEGER PRIMARY KEY,
    report_root BLOB NOT NULL,
    vote BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS oracle_votes (
    frame INTEGER NOT NULL,
    member INTEGER NOT NULL,
    report_root BLOB NOT NULL,
    vote BLOB NOT NULL,
    PRIMARY KEY (frame, member, report_root)
);
CREATE INDEX IF NOT EXISTS oracle_votes_root ON oracle_votes(report_root);
CREATE TABLE IF NOT EXISTS oracle_evidence (
    frame INTEGER NOT NULL,
    member INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (frame, member)
);
CREATE TABLE IF NOT EXISTS oracle_certificates (
    frame INTEGER PRIMARY KEY,
    report_root BLOB NOT NULL,
    certificate BLOB NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oracle_certificates_root ON oracle_certificates(report_root);
";

fn collect_votes(rows: Vec<Vec<u8>>) -> Result<Vec<OracleVote>> {
    rows.iter().map(|b| vote_from_ssz(b)).collect()
}

#[async_trait]
impl OracleStore for SqliteLedgerStore {
    async fn ensure_membership(&self, membership: &OracleMembership) -> Result<OracleMembership> {
        let json = membership_json(membership)?;
        let root = membership.root()?;
        let frame = to_i64(membership.frame, "frame")?;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a membership write")?;
            let stored: Option<String> = tx
                .query_row(
                    "SELECT membership FROM oracle_memberships WHERE frame = ?1",
                    params![frame],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading a membership")?;
            if let Some(stored) = stored {
                return membership_from_json(&stored);
            }
            tx.execute(
                "INSERT INTO oracle_memberships (frame, root, membership) VALUES (?1, ?2, ?3)",
                params![frame, root.as_slice(), json],
            )
            .ctx("inserting a membership")?;
            tx.commit().ctx("committing a membership")?;
            membership_from_json(&json)
        })
        .await
    }

    async fn membership(&self, frame: u64) -> Result<Option<OracleMembership>> {
        let frame = to_i64(frame, "frame")?;
        self.run(move |conn| {
            let stored: Option<String> = conn
                .query_row(
                    "SELECT membership FROM oracle_memberships WHERE frame = ?1",
                    params![frame],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading a membership")?;
            stored.as_deref().map(membership_from_json).transpose()
        })
        .await
    }

    async fn record_own_vote(&self, vote: &OracleVote) -> Result<OracleVote> {
        let vote = vote.clone();
        let frame = to_i64(vote.frame, "frame")?;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting an own-vote write")?;
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT vote FROM oracle_own_votes WHERE frame = ?1",
                    params![frame],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading an own vote")?;
            let stored = stored.as_deref().map(vote_from_ssz).transpose()?;
            if let Some(recorded) = plan_own_vote(stored, &vote)? {
                return Ok(recorded);
            }
            tx.execute(
                "INSERT INTO oracle_own_votes (frame, report_root, vote) VALUES (?1, ?2, ?3)",
                params![frame, vote.report_root.as_slice(), vote.to_ssz()],
            )
            .ctx("inserting an own vote")?;
            tx.commit().ctx("committing an own vote")?;
            Ok(vote)
        })
        .await
    }

    async fn own_vote(&self, frame: u64) -> Result<Option<OracleVote>> {
        let frame = to_i64(frame, "frame")?;
        self.run(move |conn| {
            let stored: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT vote FROM oracle_own_votes WHERE frame = ?1",
                    params![frame],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading an own vote")?;
            stored.as_deref().map(vote_from_ssz).transpose()
        })
        .await
    }

    async fn own_votes_from(&self, from: u64) -> Result<Vec<OracleVote>> {
        let from = super::clamp_i64(from);
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT vote FROM oracle_own_votes WHERE frame >= ?1 ORDER BY frame",
                )
                .ctx("preparing the own-vote query")?;
            let rows = stmt
                .query_map(params![from], |row| row.get::<_, Vec<u8>>(0))
                .ctx("reading own votes")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("reading an own vote")?;
            collect_votes(rows)
        })
        .await
    }

    async fn record_vote(&self, vote: &OracleVote) -> Result<StoreOutcome> {
        let mut outcomes = self.record_votes(std::slice::from_ref(vote)).await?;
        outcomes
            .pop()
            .ok_or_else(|| Error::Corrupt("no outcome for a recorded vote".to_owned()))
    }

    async fn record_votes(&self, votes: &[OracleVote]) -> Result<Vec<StoreOutcome>> {
        let votes = votes.to_vec();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a vote write")?;
            let mut outcomes = Vec::with_capacity(votes.len());
            for vote in &votes {
                let frame = to_i64(vote.frame, "frame")?;
                let member = to_i64(vote.member, "member")?;
                let stored: Option<Vec<u8>> = tx
                    .query_row(
                        "SELECT vote FROM oracle_votes WHERE frame = ?1 AND member = ?2 AND report_root = ?3",
                        params![frame, member, vote.report_root.as_slice()],
                        |row| row.get(0),
                    )
                    .optional()
                    .ctx("reading a vote")?;
                let stored = stored.as_deref().map(vote_from_ssz).transpose()?;
                if let Some(outcome) = vote_outcome(stored, vote)? {
                    outcomes.push(outcome);
                    continue;
                }
                tx.execute(
                    "INSERT INTO oracle_votes (frame, member, report_root, vote) VALUES (?1, ?2, ?3, ?4)",
                    params![frame, member, vote.report_root.as_slice(), vote.to_ssz()],
                )
                .ctx("inserting a vote")?;
                outcomes.push(StoreOutcome::Inserted);
            }
            tx.commit().ctx("committing votes")?;
            Ok(outcomes)
        })
        .await
    }

    async fn votes(&self, frame: u64) -> Result<Vec<OracleVote>> {
        let frame = to_i64(frame, "frame")?;
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT vote FROM oracle_votes WHERE frame = ?1 ORDER BY member, report_root",
                )
                .ctx("preparing the vote query")?;
            let rows = stmt
                .query_map(params![frame], |row| row.get::<_, Vec<u8>>(0))
                .ctx("reading votes")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("reading a vote")?;
            collect_votes(rows)
        })
        .await
    }

    async fn votes_by_root(&self, report_root: Hash256) -> Result<Vec<OracleVote>> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT vote FROM oracle_votes WHERE report_root = ?1 ORDER BY frame, member",
                )
                .ctx("preparing the vote query")?;
            let rows = stmt
                .query_map(params![report_root.as_slice()], |row| {
                    row.get::<_, Vec<u8>>(0)
                })
                .ctx("reading votes")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("reading a vote")?;
            collect_votes(rows)
        })
        .await
    }

    async fn record_evidence(&self, evidence: &EquivocationEvidence) -> Result<StoreOutcome> {
        let json = evidence_json(evidence)?;
        let frame = to_i64(evidence.frame(), "frame")?;
        let member = to_i64(evidence.member(), "member")?;
        self.run(move |conn| {
            let inserted = conn
                .execute(
                    "INSERT INTO oracle_evidence (frame, member, evidence) VALUES (?1, ?2, ?3) ON CONFLICT (frame, member) DO NOTHING",
                    params![frame, member, json],
                )
                .ctx("inserting evidence")?;
            Ok(if inserted == 1 {
                StoreOutcome::Inserted
            } else {
                StoreOutcome::Unchanged
            })
        })
        .await
    }

    async fn evidence(&self, frame: u64) -> Result<Vec<EquivocationEvidence>> {
        let frame = to_i64(frame, "frame")?;
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT evidence FROM oracle_evidence WHERE frame = ?1 ORDER BY member",
                )
                .ctx("preparing the evidence query")?;
            let rows = stmt
                .query_map(params![frame], |row| row.get::<_, String>(0))
                .ctx("reading evidence")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("reading evidence")?;
            rows.iter().map(|t| evidence_from_json(t)).collect()
        })
        .await
    }

    async fn store_certificate(&self, certificate: &QuorumCertificate) -> Result<StoreOutcome> {
        let cert = certificate.clone();
        let json = cert.to_canonical_json()?;
        let frame = to_i64(cert.frame, "frame")?;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a certificate write")?;
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT certificate FROM oracle_certificates WHERE frame = ?1",
                    params![frame],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading a certificate")?;
            let stored = stored.as_deref().map(certificate_from_ssz).transpose()?;
            if let Some(outcome) = plan_certificate(stored.as_ref(), &cert)? {
                return Ok(outcome);
            }
            tx.execute(
                "INSERT INTO oracle_certificates (frame, report_root, certificate, json) VALUES (?1, ?2, ?3, ?4)",
                params![frame, cert.report_root.as_slice(), cert.to_ssz(), json],
            )
            .ctx("inserting a certificate")?;
            tx.commit().ctx("committing a certificate")?;
            Ok(StoreOutcome::Inserted)
        })
        .await
    }

    async fn certificate(&self, frame: u64) -> Result<Option<QuorumCertificate>> {
        let frame = to_i64(frame, "frame")?;
        self.run(move |conn| {
            let stored: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT certificate FROM oracle_certificates WHERE frame = ?1",
                    params![frame],
                    |row| row.get(0),
                )
                .optional()
                .ctx("reading a certificate")?;
            stored.as_deref().map(certificate_from_ssz).transpose()
        })
        .await
    }

    async fn certificates_by_root(&self, report_root: Hash256) -> Result<Vec<QuorumCertificate>> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT certificate FROM oracle_certificates WHERE report_root = ?1 ORDER BY frame",
                )
                .ctx("preparing the certificate query")?;
            let rows = stmt
                .query_map(params![report_root.as_slice()], |row| row.get::<_, Vec<u8>>(0))
                .ctx("reading certificates")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx("reading a certificate")?;
            rows.iter().map(|b| certificate_from_ssz(b)).collect()
        })
        .await
    }
}
