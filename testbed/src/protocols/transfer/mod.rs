//! The testbed's bulk transfer, `/testbed/transfer/1.0.0`: big enough to need many yamux
//! frames and window updates while other streams share the connection.
//!
//! The opener writes a one-line request, `SIZE READ_DELAY_MS\n`, then SIZE bytes, and closes
//! its half. The other side reads them in 16 KiB pieces, pausing READ_DELAY_MS after each (a
//! slow reader: its receive window fills and the sender must wait), answers with the count it
//! read as one line, and closes. An opener that gives up drops the stream midway, and yamux
//! resets it (RST).

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{PeerId, StreamProtocol};

mod shown;

pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/testbed/transfer/1.0.0");

/// Largest transfer asked for or accepted.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Longest pause a slow reader may be asked for.
pub const MAX_READ_DELAY_MS: u64 = 1_000;
/// Bytes per write and per read.
const PIECE: usize = 16 * 1024;
/// A request line is a few digits; more is not a request.
const MAX_LINE: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub bytes: u64,
    pub read_delay_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a transfer request: {0:?}")]
    BadRequest(String),
    #[error("the other side read {read} bytes of {sent}")]
    Short { sent: u64, read: u64 },
    #[error("the stream ended after {0} of the bytes announced")]
    Truncated(u64),
}

impl Request {
    pub fn encode(&self) -> String {
        format!("{} {}\n", self.bytes, self.read_delay_ms)
    }

    pub fn decode(line: &str) -> Result<Request, TransferError> {
        let bad = || TransferError::BadRequest(line.chars().take(MAX_LINE).collect());
        let mut words = line.split(' ');
        let bytes: u64 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
        let read_delay_ms: u64 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
        if words.next().is_some() || bytes > MAX_BYTES || read_delay_ms > MAX_READ_DELAY_MS {
            return Err(bad());
        }
        Ok(Request {
            bytes,
            read_delay_ms,
        })
    }
}

async fn read_line<S: AsyncRead + Unpin>(stream: &mut S) -> Result<String, TransferError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte).await? == 0 {
            return Err(TransferError::BadRequest(
                String::from_utf8_lossy(&line).into(),
            ));
        }
        if byte[0] == b'\n' {
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        if line.len() == MAX_LINE {
            return Err(TransferError::BadRequest(
                String::from_utf8_lossy(&line).into(),
            ));
        }
        line.push(byte[0]);
    }
}

/// The opener's side: request, bytes, close, read the count. With `give_up_after`, drops the
/// stream once that many bytes are written instead (the caller's drop resets it).
pub async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: Request,
    give_up_after: Option<u64>,
) -> Result<u64, TransferError> {
    stream.write_all(request.encode().as_bytes()).await?;
    let piece = [0x5a; PIECE];
    let limit = give_up_after.unwrap_or(request.bytes).min(request.bytes);
    let mut sent = 0;
    while sent < limit {
        let n = (limit - sent).min(PIECE as u64) as usize;
        stream.write_all(&piece[..n]).await?;
        sent += n as u64;
    }
    stream.flush().await?;
    if give_up_after.is_some() {
        return Ok(sent);
    }
    stream.close().await?;
    let read: u64 = read_line(stream)
        .await?
        .parse()
        .map_err(|_| TransferError::BadRequest("count".into()))?;
    if read != sent {
        return Err(TransferError::Short { sent, read });
    }
    Ok(sent)
}

/// The other side: read the request and the bytes (slowly if asked), answer the count, close.
pub async fn receive<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<(Request, u64), TransferError> {
    let request = Request::decode(&read_line(stream).await?)?;
    let mut buffer = vec![0u8; PIECE];
    let mut read = 0u64;
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        read += n as u64;
        if request.read_delay_ms > 0 {
            futures_timer::Delay::new(std::time::Duration::from_millis(request.read_delay_ms))
                .await;
        }
    }
    if read < request.bytes {
        return Err(TransferError::Truncated(read));
    }
    stream.write_all(format!("{read}\n").as_bytes()).await?;
    stream.close().await?;
    Ok((request, read))
}

/// One step of the testbed's bulk transfer, as seen by one side.
#[derive(Debug, Clone)]
pub enum TransferStep {
    /// This side opened a stream to send `bytes`; the reader pauses after each 16 KiB when slow.
    Started {
        remote: PeerId,
        bytes: u64,
        slow_reader: bool,
    },
    /// Every byte arrived, and the other side said so.
    Finished {
        remote: PeerId,
        bytes: u64,
        took_ms: f64,
    },
    /// This side dropped the stream after `sent` bytes: yamux resets it (RST).
    GaveUp {
        remote: PeerId,
        sent: u64,
    },
    /// This side read a whole transfer.
    Received {
        remote: PeerId,
        bytes: u64,
    },
    Failed {
        remote: PeerId,
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_one_checked_line() {
        let request = Request {
            bytes: 1 << 20,
            read_delay_ms: 20,
        };
        assert_eq!(request.encode(), "1048576 20\n");
        assert_eq!(Request::decode("1048576 20").unwrap(), request);
        for bad in ["", "12", "a 1", "1 2 3", "99999999999 0", "1 5000"] {
            assert!(Request::decode(bad).is_err(), "{bad:?}");
        }
    }
}
