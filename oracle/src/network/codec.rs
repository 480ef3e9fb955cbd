//! The two request-response protocols, length-checked before anything is allocated:
//!
//! - `/poolvc/oracle/votes/1`: request = frame (8 bytes, little-endian); response = a count
//!   (4 bytes LE, at most [`MAX_VOTES_PER_RESPONSE`]) then that many 144-byte SSZ votes;
//! - `/poolvc/oracle/report/1`: request = report root (32 bytes); response = a flag byte
//!   (0 = unknown, 1 = found), then for a found report its length (4 bytes LE, at most
//!   [`MAX_REPORT_BYTES`]) and the SSZ `PoolReport`.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;
use pool_registry::oracle::{OracleVote, VOTE_SSZ_LEN};
use types::Hash256;

/// The votes protocol.
pub const VOTES_PROTOCOL: StreamProtocol = StreamProtocol::new("/poolvc/oracle/votes/1");
/// The report body protocol.
pub const REPORT_PROTOCOL: StreamProtocol = StreamProtocol::new("/poolvc/oracle/report/1");
/// At most two votes per member (an equivocator's pair) of a 256-member committee.
pub const MAX_VOTES_PER_RESPONSE: usize = 512;
/// Largest report body served or accepted (a report with 65,536 operators fits).
pub const MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

async fn read_u32<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u32> {
    let mut b = [0u8; 4];
    io.read_exact(&mut b).await?;
    Ok(u32::from_le_bytes(b))
}

/// Codec of `/poolvc/oracle/votes/1`.
#[derive(Debug, Clone, Copy, Default)]
pub struct VotesCodec;

impl Codec for VotesCodec {
    type Protocol = StreamProtocol;
    type Request = u64;
    type Response = Vec<OracleVote>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<u64>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut b = [0u8; 8];
        io.read_exact(&mut b).await?;
        Ok(u64::from_le_bytes(b))
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<OracleVote>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let count = read_u32(io).await? as usize;
        if count > MAX_VOTES_PER_RESPONSE {
            return Err(invalid(format!(
                "{count} votes in one response; at most {MAX_VOTES_PER_RESPONSE}"
            )));
        }
        let mut votes = Vec::with_capacity(count);
        let mut buf = [0u8; VOTE_SSZ_LEN];
        for _ in 0..count {
            io.read_exact(&mut buf).await?;
            votes.push(OracleVote::from_ssz(&buf).map_err(|e| invalid(e.to_string()))?);
        }
        Ok(votes)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        frame: u64,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&frame.to_le_bytes()).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        votes: Vec<OracleVote>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let votes = &votes[..votes.len().min(MAX_VOTES_PER_RESPONSE)];
        io.write_all(&(votes.len() as u32).to_le_bytes()).await?;
        for vote in votes {
            io.write_all(&vote.to_ssz()).await?;
        }
        io.close().await
    }
}

/// Codec of `/poolvc/oracle/report/1`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportCodec;

impl Codec for ReportCodec {
    type Protocol = StreamProtocol;
    type Request = Hash256;
    type Response = Option<Vec<u8>>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Hash256>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut b = [0u8; 32];
        io.read_exact(&mut b).await?;
        Ok(Hash256::from(b))
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Option<Vec<u8>>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut flag = [0u8; 1];
        io.read_exact(&mut flag).await?;
        match flag[0] {
            0 => Ok(None),
            1 => {
                let len = read_u32(io).await? as usize;
                if len > MAX_REPORT_BYTES {
                    return Err(invalid(format!(
                        "report body of {len} bytes; at most {MAX_REPORT_BYTES}"
                    )));
                }
                let mut body = vec![0u8; len];
                io.read_exact(&mut body).await?;
                Ok(Some(body))
            }
            other => Err(invalid(format!("report response flag {other}"))),
        }
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        root: Hash256,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(root.as_slice()).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        body: Option<Vec<u8>>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match body.filter(|b| b.len() <= MAX_REPORT_BYTES) {
            None => io.write_all(&[0]).await?,
            Some(body) => {
                io.write_all(&[1]).await?;
                io.write_all(&(body.len() as u32).to_le_bytes()).await?;
                io.write_all(&body).await?;
            }
        }
        io.close().await
    }
}
