//! [`OracleStore`] on PostgreSQL: tables in the ledger's schema; every write is one
//! transaction (`INSERT … ON CONFLICT DO NOTHING`, then `SELECT … FOR UPDATE` and compare
//! when the row existed), so instances sharing the database agree or get the conflict error.

use async_trait::async_trait;
use types::Hash256;

use super::StoreOutcome;
use super::oracle::{
    OracleStore, certificate_from_ssz, evidence_from_json, evidence_json, membership_from_json,
    membership_json, plan_certificate, plan_own_vote, vote_from_ssz, vote_outcome,
};
use super::postgres::{PostgresLedgerStore, i};
use crate::error::{Context, Error, Result};
use crate::oracle::{EquivocationEvidence, OracleMembership, OracleVote, QuorumCertificate};

/// The oracle tables in schema `s`.
pub(super) fn oracle_schema(s: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {s}.oracle_memberships (
             frame BIGINT PRIMARY KEY, root BYTEA NOT NULL, membership TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.oracle_own_votes (
             frame BIGINT PRIMARY KEY, report_root BYTEA NOT NULL, vote BYTEA NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.oracle_votes (
             frame BIGINT NOT NULL, member BIGINT NOT NULL, report_root BYTEA NOT NULL,
             vote BYTEA NOT NULL, PRIMARY KEY (frame, member, report_root));
         CREATE INDEX IF NOT EXISTS oracle_votes_root ON {s}.oracle_votes(report_root);
         CREATE TABLE IF NOT EXISTS {s}.oracle_evidence (
             frame BIGINT NOT NULL, member BIGINT NOT NULL, evidence TEXT NOT NULL,
             PRIMARY KEY (frame, member));
         CREATE TABLE IF NOT EXISTS {s}.oracle_certificates (
             frame BIGINT PRIMARY KEY, report_root BYTEA NOT NULL, certificate BYTEA NOT NULL,
             json TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS oracle_certificates_root ON {s}.oracle_certificates(report_root);"
    )
}

fn votes_of(rows: &[tokio_postgres::Row]) -> Result<Vec<OracleVote>> {
    rows.iter()
        .map(|r| vote_from_ssz(r.try_get::<_, &[u8]>(0).ctx("reading a vote")?))
        .collect()
}

#[async_trait]
impl OracleStore for PostgresLedgerStore {
    async fn ensure_membership(&self, membership: &OracleMembership) -> Result<OracleMembership> {
        let s = self.schema();
        let json = membership_json(membership)?;
        let root = membership.root()?;
        let frame = i(membership.frame, "frame")?;
        let client = self.client().await?;
        client
            .execute(
                &format!("INSERT INTO {s}.oracle_memberships (frame, root, membership) VALUES ($1, $2, $3) ON CONFLICT (frame) DO NOTHING"),
                &[&frame, &root.as_slice(), &json],
            )
            .await
            .ctx("inserting a membership")?;
        let row = client
            .query_one(
                &format!("SELECT membership FROM {s}.oracle_memberships WHERE frame = $1"),
                &[&frame],
            )
            .await
            .ctx("reading a membership")?;
        membership_from_json(row.try_get::<_, &str>(0).ctx("reading a membership")?)
    }

    async fn membership(&self, frame: u64) -> Result<Option<OracleMembership>> {
        let s = self.schema();
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT membership FROM {s}.oracle_memberships WHERE frame = $1"),
                &[&i(frame, "frame")?],
            )
            .await
            .ctx("reading a membership")?;
        row.map(|r| membership_from_json(r.try_get::<_, &str>(0).ctx("reading a membership")?))
            .transpose()
    }

    async fn record_own_vote(&self, vote: &OracleVote) -> Result<OracleVote> {
        let s = self.schema();
        let frame = i(vote.frame, "frame")?;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .ctx("starting an own-vote write")?;
        let inserted = tx
            .execute(
                &format!("INSERT INTO {s}.oracle_own_votes (frame, report_root, vote) VALUES ($1, $2, $3) ON CONFLICT (frame) DO NOTHING"),
                &[&frame, &vote.report_root.as_slice(), &vote.to_ssz()],
            )
            .await
            .ctx("inserting an own vote")?;
        if inserted == 1 {
            tx.commit().await.ctx("committing an own vote")?;
            return Ok(vote.clone());
        }
        let row = tx
            .query_one(
                &format!("SELECT vote FROM {s}.oracle_own_votes WHERE frame = $1 FOR UPDATE"),
                &[&frame],
            )
            .await
            .ctx("reading an own vote")?;
        let stored = vote_from_ssz(row.try_get::<_, &[u8]>(0).ctx("reading an own vote")?)?;
        plan_own_vote(Some(stored), vote)?
            .ok_or_else(|| Error::Corrupt(format!("own vote of frame {} vanished", vote.frame)))
    }

    async fn own_vote(&self, frame: u64) -> Result<Option<OracleVote>> {
        let s = self.schema();
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT vote FROM {s}.oracle_own_votes WHERE frame = $1"),
                &[&i(frame, "frame")?],
            )
            .await
            .ctx("reading an own vote")?;
        row.map(|r| vote_from_ssz(r.try_get::<_, &[u8]>(0).ctx("reading an own vote")?))
            .transpose()
    }

    async fn own_votes_from(&self, from: u64) -> Result<Vec<OracleVote>> {
        let s = self.schema();
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT vote FROM {s}.oracle_own_votes WHERE frame >= $1 ORDER BY frame"),
                &[&super::clamp_i64(from)],
            )
            .await
            .ctx("reading own votes")?;
        votes_of(&rows)
    }

    async fn record_vote(&self, vote: &OracleVote) -> Result<StoreOutcome> {
        let mut outcomes = self.record_votes(std::slice::from_ref(vote)).await?;
        outcomes
            .pop()
            .ok_or_else(|| Error::Corrupt("no outcome for a recorded vote".to_owned()))
    }

    async fn record_votes(&self, votes: &[OracleVote]) -> Result<Vec<StoreOutcome>> {
        let s = self.schema();
        let mut client = self.client().await?;
        let tx = client.transaction().await.ctx("starting a vote write")?;
        let mut outcomes = Vec::with_capacity(votes.len());
        for vote in votes {
            let frame = i(vote.frame, "frame")?;
            let member = i(vote.member, "member")?;
            let inserted = tx
                .execute(
                    &format!("INSERT INTO {s}.oracle_votes (frame, member, report_root, vote) VALUES ($1, $2, $3, $4) ON CONFLICT (frame, member, report_root) DO NOTHING"),
                    &[&frame, &member, &vote.report_root.as_slice(), &vote.to_ssz()],
                )
                .await
                .ctx("inserting a vote")?;
            if inserted == 1 {
                outcomes.push(StoreOutcome::Inserted);
                continue;
            }
            let row = tx
                .query_one(
                    &format!("SELECT vote FROM {s}.oracle_votes WHERE frame = $1 AND member = $2 AND report_root = $3"),
                    &[&frame, &member, &vote.report_root.as_slice()],
                )
                .await
                .ctx("reading a vote")?;
            let stored = vote_from_ssz(row.try_get::<_, &[u8]>(0).ctx("reading a vote")?)?;
            outcomes.push(vote_outcome(Some(stored), vote)?.unwrap_or(StoreOutcome::Unchanged));
        }
        tx.commit().await.ctx("committing votes")?;
        Ok(outcomes)
    }

    async fn votes(&self, frame: u64) -> Result<Vec<OracleVote>> {
        let s = self.schema();
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT vote FROM {s}.oracle_votes WHERE frame = $1 ORDER BY member, report_root"),
                &[&i(frame, "frame")?],
            )
            .await
            .ctx("reading votes")?;
        votes_of(&rows)
    }

    async fn votes_by_root(&self, report_root: Hash256) -> Result<Vec<OracleVote>> {
        let s = self.schema();
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT vote FROM {s}.oracle_votes WHERE report_root = $1 ORDER BY frame, member"),
                &[&report_root.as_slice()],
            )
            .await
            .ctx("reading votes")?;
        votes_of(&rows)
    }

    async fn record_evidence(&self, evidence: &EquivocationEvidence) -> Result<StoreOutcome> {
        let s = self.schema();
        let json = evidence_json(evidence)?;
        let client = self.client().await?;
        let inserted = client
            .execute(
                &format!("INSERT INTO {s}.oracle_evidence (frame, member, evidence) VALUES ($1, $2, $3) ON CONFLICT (frame, member) DO NOTHING"),
                &[&i(evidence.frame(), "frame")?, &i(evidence.member(), "member")?, &json],
            )
            .await
            .ctx("inserting evidence")?;
        Ok(if inserted == 1 {
            StoreOutcome::Inserted
        } else {
            StoreOutcome::Unchanged
        })
    }

    async fn evidence(&self, frame: u64) -> Result<Vec<EquivocationEvidence>> {
        let s = self.schema();
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT evidence FROM {s}.oracle_evidence WHERE frame = $1 ORDER BY member"
                ),
                &[&i(frame, "frame")?],
            )
            .await
            .ctx("reading evidence")?;
        rows.iter()
            .map(|r| evidence_from_json(r.try_get::<_, &str>(0).ctx("reading evidence")?))
            .collect()
    }

    async fn store_certificate(&self, certificate: &QuorumCertificate) -> Result<StoreOutcome> {
        let s = self.schema();
        let frame = i(certificate.frame, "frame")?;
        let json = certificate.to_canonical_json()?;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .ctx("starting a certificate write")?;
        let inserted = tx
            .execute(
                &format!("INSERT INTO {s}.oracle_certificates (frame, report_root, certificate, json) VALUES ($1, $2, $3, $4) ON CONFLICT (frame) DO NOTHING"),
                &[&frame, &certificate.report_root.as_slice(), &certificate.to_ssz(), &json],
            )
            .await
            .ctx("inserting a certificate")?;
        if inserted == 1 {
            tx.commit().await.ctx("committing a certificate")?;
            return Ok(StoreOutcome::Inserted);
        }
        let row = tx
            .query_one(
                &format!(
                    "SELECT certificate FROM {s}.oracle_certificates WHERE frame = $1 FOR UPDATE"
                ),
                &[&frame],
            )
            .await
            .ctx("reading a certificate")?;
        let stored =
            certificate_from_ssz(row.try_get::<_, &[u8]>(0).ctx("reading a certificate")?)?;
        plan_certificate(Some(&stored), certificate)?.ok_or_else(|| {
            Error::Corrupt(format!(
                "certificate of frame {} vanished",
                certificate.frame
            ))
        })
    }

    async fn certificate(&self, frame: u64) -> Result<Option<QuorumCertificate>> {
        let s = self.schema();
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT certificate FROM {s}.oracle_certificates WHERE frame = $1"),
                &[&i(frame, "frame")?],
            )
            .await
            .ctx("reading a certificate")?;
        row.map(|r| certificate_from_ssz(r.try_get::<_, &[u8]>(0).ctx("reading a certificate")?))
            .transpose()
    }

    async fn certificates_by_root(&self, report_root: Hash256) -> Result<Vec<QuorumCertificate>> {
        let s = self.schema();
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT certificate FROM {s}.oracle_certificates WHERE report_root = $1 ORDER BY frame"),
                &[&report_root.as_slice()],
            )
            .await
            .ctx("reading certificates")?;
        rows.iter()
            .map(|r| certificate_from_ssz(r.try_get::<_, &[u8]>(0).ctx("reading a certificate")?))
            .collect()
    }
}
