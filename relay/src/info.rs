//! A tiny HTTP endpoint answering every request with the relay's PeerId and addresses as JSON,
//! so the page can find the relay without configuration.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The most of a request we read: we answer the same thing whatever was asked.
const MAX_REQUEST_BYTES: usize = 4096;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RelayInfo {
    pub peer_id: String,
    /// Full addresses, `/p2p/<relay id>` included, ready to dial.
    pub addresses: Vec<String>,
}

pub type SharedInfo = Arc<RwLock<RelayInfo>>;

/// How long a connection may stay silent, and how many may be open at once: a connection
/// that sends nothing holds a file descriptor until closed.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub read_timeout: Duration,
    pub max_connections: usize,
}

pub async fn serve(listener: TcpListener, info: SharedInfo, limits: Limits) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let Ok((mut socket, from)) = listener.accept().await else {
            continue;
        };
        // Over the cap: closed at once (dropped), before anything is read.
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(
                "info endpoint: {} connections open, closing the one from {from}",
                limits.max_connections
            );
            continue;
        };
        let info = info.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut request = vec![0u8; MAX_REQUEST_BYTES];
            // The request itself does not matter, but one must come: a silent connection is
            // closed unanswered once the timeout passes.
            match tokio::time::timeout(limits.read_timeout, socket.read(&mut request)).await {
                Ok(Ok(read)) if read > 0 => {}
                _ => return,
            }
            let body = {
                let info = info.read().unwrap_or_else(|poisoned| poisoned.into_inner());
                serde_json::to_string(&*info).unwrap_or_default()
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 access-control-allow-origin: *\r\ncache-control: no-store\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}
