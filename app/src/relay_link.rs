//! This tab's own peer and its link to the native relay. Optional: in-page peers work without
//! it, and the page says plainly when no relay is there.

use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use libp2p::identity::Keypair;
use libp2p::Multiaddr;
use serde::Deserialize;
use testbed::peer::{PeerConfig, PeerHandle, TransportKind};
use testbed::view::short_peer_id;
use testbed::{EventKind, EventSink};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Port of the relay's info endpoint when the page is not told otherwise (`?relay=URL`).
const DEFAULT_INFO_PORT: u16 = 4002;

#[derive(Debug, Clone, PartialEq)]
pub enum RelayStatus {
    Looking {
        info_url: String,
    },
    Absent {
        reason: String,
    },
    Connecting {
        address: String,
    },
    Connected {
        relay: String,
        round_trip_ms: Option<f64>,
    },
    Lost {
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
struct RelayInfo {
    addresses: Vec<String>,
}

/// Finds the relay through its info endpoint, connects this tab's peer to it over WebSocket,
/// and keeps `status` up to date for as long as the page is open.
pub fn connect(status: RwSignal<RelayStatus>) {
    let info_url = info_url();
    status.set(RelayStatus::Looking {
        info_url: info_url.clone(),
    });
    spawn_local(async move {
        let address = match find_websocket_address(&info_url).await {
            Ok(address) => address,
            Err(reason) => {
                status.set(RelayStatus::Absent { reason });
                return;
            }
        };
        status.set(RelayStatus::Connecting {
            address: address.to_string(),
        });
        let (sink, mut events) = EventSink::new();
        let config = PeerConfig {
            keypair: Keypair::generate_ed25519(),
            transport: TransportKind::WebSocket,
            measure_round_trips: true,
            pace: testbed::pace::Pace::default(),
            wire: None,
            dht: None,
        };
        let peer = match PeerHandle::start(config, sink) {
            Ok(peer) => peer,
            Err(error) => {
                status.set(RelayStatus::Absent {
                    reason: error.to_string(),
                });
                return;
            }
        };
        let relay = match peer.dial(None, address).await {
            Ok(relay) => relay,
            Err(error) => {
                status.set(RelayStatus::Absent {
                    reason: error.to_string(),
                });
                return;
            }
        };
        status.set(RelayStatus::Connected {
            relay: short_peer_id(&relay),
            round_trip_ms: None,
        });
        // `peer` lives as long as this loop: the tab stays connected while the page is open.
        while let Some(event) = events.next().await {
            match event.kind {
                EventKind::RoundTrip { remote, rtt_ms } if remote == relay => {
                    status.set(RelayStatus::Connected {
                        relay: short_peer_id(&relay),
                        round_trip_ms: Some(rtt_ms),
                    })
                }
                EventKind::ConnectionClosed { remote, cause } if remote == relay => {
                    status.set(RelayStatus::Lost {
                        reason: cause.unwrap_or_else(|| "the connection closed".into()),
                    });
                    break;
                }
                _ => {}
            }
        }
        drop(peer);
    });
}

/// `?relay=URL` when given, else the info port on the host that served the page.
fn info_url() -> String {
    let location = web_sys::window().map(|w| w.location());
    let from_query = location
        .as_ref()
        .and_then(|l| l.search().ok())
        .and_then(|search| {
            search
                .trim_start_matches('?')
                .split('&')
                .find_map(|part| part.strip_prefix("relay=").map(decode_uri))
        });
    from_query.unwrap_or_else(|| {
        let host = location
            .and_then(|l| l.hostname().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "127.0.0.1".into());
        format!("http://{host}:{DEFAULT_INFO_PORT}/")
    })
}

fn decode_uri(text: &str) -> String {
    js_sys::decode_uri_component(text)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| text.to_owned())
}

async fn find_websocket_address(info_url: &str) -> Result<Multiaddr, String> {
    let absent = || format!("no relay answered at {info_url}");
    let window = web_sys::window().ok_or_else(absent)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(info_url))
        .await
        .map_err(|_| absent())?
        .dyn_into()
        .map_err(|_| absent())?;
    if !response.ok() {
        return Err(format!("{info_url} answered {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(|_| absent())?)
        .await
        .map_err(|_| absent())?
        .as_string()
        .unwrap_or_default();
    let info: RelayInfo = serde_json::from_str(&text)
        .map_err(|e| format!("{info_url} did not describe a relay: {e}"))?;
    // The relay lists every interface it listens on; the one this page reached it at is the
    // one that works from here (127.0.0.1 does not, from another machine of a classroom).
    let host = info_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    let websocket: Vec<&String> = info
        .addresses
        .iter()
        .filter(|a| a.contains("/ws"))
        .collect();
    websocket
        .iter()
        .find(|a| a.contains(&format!("/{host}/")))
        .or(websocket.first())
        .ok_or_else(|| format!("the relay at {info_url} has no WebSocket address"))?
        .parse()
        .map_err(|e| format!("the relay's address is not a multiaddr: {e}"))
}
