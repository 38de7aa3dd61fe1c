//! A tiny HTTP endpoint answering every request with the relay's PeerId and addresses as JSON,
//! so the page can find the relay without configuration.

use std::sync::{Arc, RwLock};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The most of a request we read: we answer the same thing whatever was asked.
const MAX_REQUEST_BYTES: usize = 4096;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RelayInfo {
    pub peer_id: String,
    /// Full addresses, `/p2p/<relay id>` included, ready to dial.
    pub addresses: Vec<String>,
}

pub type SharedInfo = Arc<RwLock<RelayInfo>>;

pub async fn serve(listener: TcpListener, info: SharedInfo) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let info = info.clone();
        tokio::spawn(async move {
            let mut request = vec![0u8; MAX_REQUEST_BYTES];
            // The request itself does not matter; read it so the client sees a clean reply.
            let _ = socket.read(&mut request).await;
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
