//! This tab's own peer, its link to the native relay and its room. Optional: in-page peers
//! work without it, and the page says plainly when no relay is there. The peer keeps its
//! identity for as long as the page is open; when the relay goes, it tries again with backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use futures_timer::Delay;
use leptos::prelude::*;
use leptos::task::spawn_local;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use serde::Deserialize;
use testbed::dht;
use testbed::dht::{LookupKind, LookupOutcome, LookupRequest};
use testbed::labels::short_peer_id;
use testbed::peer;
use testbed::peer::TransportKind;
use testbed::room::tokens::{Outcome, RoomTokens, INITIAL_TOKENS};
use testbed::room::{self, MemberState, Members};
use testbed::trace::Trace;
use testbed::view::{LogLine, NetworkView};
use testbed::{EventKind, EventSink, EventStream};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Port of the relay's info endpoint when the page is not told otherwise (`?relay=URL`).
const DEFAULT_INFO_PORT: u16 = 4002;

/// How often the room is asked who is in it.
const DISCOVER_EVERY: Duration = Duration::from_secs(3);

/// A registration is renewed well before it expires ([`room::REGISTRATION_TTL_SECONDS`]).
const REGISTER_EVERY: Duration = Duration::from_secs(room::REGISTRATION_TTL_SECONDS / 2);

/// Round trips kept per peer of the room.
const MAX_ROUND_TRIPS: usize = 100;

/// Room log lines kept.
const MAX_LOG: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum RelayStatus {
    Looking {
        info_url: String,
    },
    /// No relay answered; `retry_in` seconds until the next try.
    Absent {
        reason: String,
        retry_in: u64,
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
        retry_in: u64,
    },
}

#[derive(Debug, Deserialize)]
struct RelayInfo {
    addresses: Vec<String>,
}

/// The tab's peer as the page sees it.
#[derive(Clone, Copy)]
pub struct RelayLink {
    pub status: RwSignal<RelayStatus>,
    /// The room this tab is in (or joining).
    pub room: RwSignal<Option<String>>,
    pub members: RwSignal<Members>,
    /// This tab's peer and the peers of other tabs: each arrow's far end from the envelopes.
    pub trace: RwSignal<Trace>,
    pub log: RwSignal<Vec<LogLine>>,
    pub me: RwSignal<Option<PeerId>>,
    /// The relay last reached, kept while it is away: its lifeline stays.
    pub relay: RwSignal<Option<PeerId>>,
    /// The relay's address this tab reached it at, ending in `/p2p/RELAY` (WebSocket, or
    /// WebRTC-direct with `?via=webrtc`).
    pub address: RwSignal<Option<Multiaddr>>,
    /// Round trips of the pings to each peer of the room, in ms, oldest first.
    pub round_trips: RwSignal<BTreeMap<PeerId, Vec<f64>>>,
    /// What the relay refused last (a limit reached, a room it could not serve).
    pub problem: RwSignal<Option<String>>,
    /// The last put or get of a record in the DHT the room's tabs form: a sentence, or why
    /// it failed.
    pub dht_result: RwSignal<Option<Result<String, String>>>,
    /// This tab's tokens, for a Chandy-Lamport snapshot across the room's tabs.
    pub tokens: StoredValue<Option<RoomTokens>, LocalStorage>,
    pub balance: RwSignal<u64>,
    /// The last snapshot this tab started, once it ended.
    pub snapshot: RwSignal<Option<Outcome>>,
    peer: StoredValue<Option<peer::Handle>, LocalStorage>,
    pings: StoredValue<u64>,
}

impl RelayLink {
    /// Starts this tab's peer and keeps it connected to the relay, in `room` if given.
    pub fn start(room: Option<String>) -> RelayLink {
        let link = RelayLink {
            status: RwSignal::new(RelayStatus::Looking {
                info_url: info_url(),
            }),
            room: RwSignal::new(room),
            members: RwSignal::new(Members::default()),
            trace: RwSignal::new(Trace::across_tabs(js_sys::Date::now())),
            log: RwSignal::new(Vec::new()),
            me: RwSignal::new(None),
            relay: RwSignal::new(None),
            address: RwSignal::new(None),
            round_trips: RwSignal::new(BTreeMap::new()),
            problem: RwSignal::new(None),
            dht_result: RwSignal::new(None),
            tokens: StoredValue::new_local(None),
            balance: RwSignal::new(INITIAL_TOKENS),
            snapshot: RwSignal::new(None),
            peer: StoredValue::new_local(None),
            pings: StoredValue::new(0),
        };
        let (sink, events) = EventSink::new();
        let config = peer::Config {
            keypair: Keypair::generate_ed25519(),
            transport: TransportKind::Remote,
            measure_round_trips: true,
            pace: testbed::pace::Pace::default(),
            wire: None,
            // The room's tabs form a Kademlia DHT of their own, over the circuits.
            dht: Some(dht::Config::default()),
        };
        match peer::Handle::start(config, sink) {
            Ok(peer) => {
                link.me.set(Some(peer.peer_id()));
                link.peer.set_value(Some(peer.clone()));
                let (tokens, outcomes) = RoomTokens::start(peer.clone());
                link.tokens.set_value(Some(tokens));
                spawn_local(link.follow_tokens(outcomes));
                spawn_local(link.follow(events));
                spawn_local(link.stay_connected(peer));
            }
            Err(error) => link.status.set(RelayStatus::Absent {
                reason: error.to_string(),
                retry_in: 0,
            }),
        }
        link
    }

    /// Pings `remote` with the testbed's protocol, through the relay.
    pub fn ping(self, remote: PeerId) {
        let Some(peer) = self.peer.get_value() else {
            return;
        };
        let id = self.pings.with_value(|n| format!("tab-{n}"));
        self.pings.update_value(|n| *n += 1);
        spawn_local(async move {
            let started = web_time::Instant::now();
            // A failure is in the peer's events, and so in the room's log.
            if peer.ping(remote, id).await.is_ok() {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                self.round_trips.update(|r| {
                    let samples = r.entry(remote).or_default();
                    samples.push(ms);
                    if samples.len() > MAX_ROUND_TRIPS {
                        samples.remove(0);
                    }
                });
            }
        });
    }

    /// Stores `value` under `key` in the DHT of the room's tabs.
    pub fn put(self, key: String, value: String) {
        self.lookup(LookupRequest::PutRecord {
            key: key.clone().into_bytes(),
            value: value.into_bytes(),
        });
    }

    /// Looks `key` up in the DHT of the room's tabs.
    pub fn get(self, key: String) {
        self.lookup(LookupRequest::GetRecord {
            key: key.into_bytes(),
            quorum: 1,
        });
    }

    fn lookup(self, request: LookupRequest) {
        let Some(peer) = self.peer.get_value() else {
            return;
        };
        self.dht_result.set(None);
        spawn_local(async move {
            let result = match peer.lookup(request).await {
                Ok(outcome) => describe_lookup(&outcome, peer.peer_id()),
                Err(error) => Err(error.to_string()),
            };
            self.dht_result.set(Some(result));
        });
    }

    /// Sends a random amount to a random connected tab, `count` times, 100 ms apart.
    pub fn move_tokens(self, count: u32) {
        let Some(tokens) = self.tokens.get_value() else {
            return;
        };
        spawn_local(async move {
            for n in 0..count {
                let others = tokens.channels();
                let pick = (js_sys::Math::random() * others.len() as f64) as usize;
                if let Some(&to) = others.get(pick) {
                    let amount = 1 + (js_sys::Math::random() * 10.0) as u64;
                    // A tab short of tokens sends nothing this time.
                    let _ = tokens.send(to, amount.min(tokens.balance()));
                }
                if n + 1 < count {
                    Delay::new(Duration::from_millis(100)).await;
                }
            }
        });
    }

    /// Starts a Chandy-Lamport snapshot of the room's tabs from this one.
    pub fn start_snapshot(self) {
        if let Some(tokens) = self.tokens.get_value() {
            self.snapshot.set(None);
            tokens.snapshot();
        }
    }

    /// Snapshot outcomes, and the balance, as they change.
    async fn follow_tokens(self, mut outcomes: futures::channel::mpsc::Receiver<Outcome>) {
        let tokens = self.tokens.get_value();
        let watch_balance = async {
            while let Some(tokens) = &tokens {
                self.balance.set(tokens.balance());
                Delay::new(Duration::from_millis(200)).await;
            }
        };
        let outcomes = async {
            while let Some(outcome) = outcomes.next().await {
                self.snapshot.set(Some(outcome));
            }
        };
        futures::join!(watch_balance, outcomes);
    }

    pub fn ping_everyone(self) {
        let connected: Vec<PeerId> = self.members.with_untracked(|m| m.connected().collect());
        for remote in connected {
            self.ping(remote);
        }
    }

    /// The peer's events, into the room's members, trace and log, and the relay's status.
    async fn follow(self, mut events: EventStream) {
        // Other tabs' peers go by their short PeerId: none of them is an in-page peer.
        let mut namer = NetworkView::default();
        if let Some(me) = self.me.get_untracked() {
            namer.set_name(me, "this tab");
        }
        while let Some(event) = events.next().await {
            let relay = self.relay.get_untracked();
            if let Some(relay) = relay {
                namer.set_name(relay, "the relay");
            }
            match &event.kind {
                EventKind::RoundTrip { remote, rtt_ms } if Some(*remote) == relay => {
                    self.status.set(RelayStatus::Connected {
                        relay: short_peer_id(remote),
                        round_trip_ms: Some(*rtt_ms),
                    })
                }
                EventKind::ConnectionClosed { remote, cause } if Some(*remote) == relay => {
                    // What failed while the relay went is not the relay refusing.
                    self.problem.set(None);
                    self.status.set(RelayStatus::Lost {
                        reason: cause
                            .clone()
                            .unwrap_or_else(|| "the connection closed".into()),
                        retry_in: 1,
                    });
                }
                EventKind::Room(testbed::room::RoomStep::Refused { what, reason })
                    if self.is_connected() =>
                {
                    self.problem
                        .set(Some(format!("The relay refused the {what}: {reason}")))
                }
                EventKind::Room(testbed::room::RoomStep::CircuitOpened { remote, .. }) => {
                    // Each side opens its own channel to the other: one per direction.
                    if let Some(tokens) = self.tokens.get_value() {
                        let remote = *remote;
                        spawn_local(async move {
                            let _ = tokens.connect(remote).await;
                        });
                    }
                }
                _ => {}
            }
            self.members.update(|m| m.apply(&event));
            self.trace.update(|t| t.apply(&event));
            if let Some(line) = namer.apply(&event) {
                self.log.update(|log| {
                    log.push(line);
                    if log.len() > MAX_LOG {
                        log.remove(0);
                    }
                });
            }
        }
    }

    /// Finds the relay, connects, joins the room; when the relay goes, tries again: after
    /// 1 s, then 2, 4… up to 30 s.
    async fn stay_connected(self, peer: peer::Handle) {
        let mut attempt = 0;
        loop {
            match self.connect(&peer).await {
                Ok(relay_at) => {
                    attempt = 0;
                    self.problem.set(None);
                    self.in_room(&peer, &relay_at).await;
                }
                Err(reason) => {
                    let retry_in = room::backoff(attempt).as_secs();
                    self.status.set(RelayStatus::Absent { reason, retry_in });
                }
            }
            let wait = room::backoff(attempt);
            if let RelayStatus::Lost { reason, .. } = self.status.get_untracked() {
                self.status.set(RelayStatus::Lost {
                    reason,
                    retry_in: wait.as_secs(),
                });
            }
            Delay::new(wait).await;
            attempt += 1;
        }
    }

    /// Connects to the relay; returns its address, ending in `/p2p/RELAY`.
    async fn connect(self, peer: &peer::Handle) -> Result<Multiaddr, String> {
        let info_url = info_url();
        self.status.set(RelayStatus::Looking {
            info_url: info_url.clone(),
        });
        let address = find_relay_address(&info_url, transport()).await?;
        self.status.set(RelayStatus::Connecting {
            address: address.to_string(),
        });
        let relay = peer
            .dial(None, address.clone())
            .await
            .map_err(|e| e.to_string())?;
        self.relay.set(Some(relay));
        self.status.set(RelayStatus::Connected {
            relay: short_peer_id(&relay),
            round_trip_ms: None,
        });
        let relay_at = match room::relay_of(&address) {
            Some(_) => address,
            None => address.with(Protocol::P2p(relay)),
        };
        self.address.set(Some(relay_at.clone()));
        Ok(relay_at)
    }

    /// How the other tabs reach this one while the relay holds its slot: through the
    /// relay's address this tab reached it at.
    pub fn circuit_address(self) -> Option<Multiaddr> {
        self.members
            .with(|m| m.reservation.is_some())
            .then_some(())?;
        Some(room::circuit_address(&self.address.get()?, self.me.get()?))
    }

    fn is_connected(self) -> bool {
        matches!(self.status.get_untracked(), RelayStatus::Connected { .. })
    }

    /// While the relay is there: keeps this tab listed in its room and dials the room's
    /// other peers.
    async fn in_room(self, peer: &peer::Handle, relay_at: &Multiaddr) {
        let Some(relay) = room::relay_of(relay_at) else {
            return;
        };
        let mut reserved = false;
        let mut registered: Option<(String, web_time::Instant)> = None;
        while self.is_connected() {
            if let Some(name) = self.room.get_untracked() {
                if !reserved {
                    match peer.reserve(relay_at.clone()).await {
                        Ok(_) => reserved = true,
                        Err(error) if self.is_connected() => self.problem.set(Some(format!(
                            "{} A relay holds only so many reservations at once; this tab asks again every {} s.",
                            sentence(&error.to_string()),
                            DISCOVER_EVERY.as_secs()
                        ))),
                        Err(_) => {}
                    }
                }
                let due = registered
                    .as_ref()
                    .is_none_or(|(room, at)| *room != name || at.elapsed() >= REGISTER_EVERY);
                if reserved && due {
                    match peer.register(name.clone(), relay).await {
                        Ok(()) => registered = Some((name.clone(), web_time::Instant::now())),
                        Err(error) if self.is_connected() => {
                            self.problem.set(Some(sentence(&error.to_string())))
                        }
                        Err(_) => {}
                    }
                }
                if registered.is_some() {
                    if let Ok(found) = peer.discover(name, relay).await {
                        for (remote, _) in found {
                            self.dial_member(peer, relay_at, remote);
                        }
                    }
                }
            }
            Delay::new(DISCOVER_EVERY).await;
        }
    }

    /// Dials a room member through the relay, unless connected or known unreachable, and
    /// pings it when the circuit is up.
    fn dial_member(self, peer: &peer::Handle, relay_at: &Multiaddr, remote: PeerId) {
        let state = self
            .members
            .with_untracked(|m| m.get(&remote).map(|member| member.state));
        if !matches!(state, None | Some(MemberState::Listed | MemberState::Left)) {
            return;
        }
        let (peer, address) = (peer.clone(), room::circuit_address(relay_at, remote));
        spawn_local(async move {
            // A failure is in the peer's events: the member shows as unreachable.
            if peer.dial(Some(remote), address).await.is_ok() {
                self.ping(remote);
            }
        });
    }
}

/// `text` as a sentence on its own: capitalised.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A finished put or get, in a sentence; its error, if it failed.
fn describe_lookup(outcome: &LookupOutcome, me: PeerId) -> Result<String, String> {
    let key = String::from_utf8_lossy(&outcome.key);
    let name = |p: &PeerId| match *p == me {
        true => "this tab".to_owned(),
        false => format!("tab {}", short_peer_id(p)),
    };
    let requests = format!(
        "{} request{} in {:.0} ms",
        outcome.requests,
        if outcome.requests == 1 { "" } else { "s" },
        outcome.took_ms
    );
    if let Some(error) = &outcome.error {
        return Err(format!("{:?}: {error} ({requests})", key));
    }
    Ok(match (outcome.kind, &outcome.value) {
        (LookupKind::GetRecord, Some(value)) => {
            let holders: Vec<String> = outcome.holders.iter().map(name).collect();
            format!(
                "Found {key:?} = {:?} at {} ({requests})",
                String::from_utf8_lossy(value),
                holders.join(", ")
            )
        }
        (LookupKind::GetRecord, None) => format!("No tab holds {key:?} ({requests})"),
        _ => format!("Stored {key:?} on the closest tabs of the room ({requests})"),
    })
}

/// How a tab reaches the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayTransport {
    WebSocket,
    WebRtcDirect,
}

impl RelayTransport {
    pub fn name(self) -> &'static str {
        match self {
            RelayTransport::WebSocket => "WebSocket",
            RelayTransport::WebRtcDirect => "WebRTC-direct",
        }
    }

    /// The part of the relay's addresses that names this transport.
    fn marker(self) -> &'static str {
        match self {
            RelayTransport::WebSocket => "/ws",
            RelayTransport::WebRtcDirect => "/webrtc-direct/",
        }
    }
}

/// `?via=webrtc` reaches the relay over WebRTC-direct; WebSocket otherwise.
pub fn transport() -> RelayTransport {
    match query_parameter("via").as_deref() {
        Some("webrtc") => RelayTransport::WebRtcDirect,
        _ => RelayTransport::WebSocket,
    }
}

fn query_parameter(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let prefix = format!("{name}=");
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|part| part.strip_prefix(prefix.as_str()).map(decode_uri))
}

/// `?relay=URL` when given, else the info port on the host that served the page.
fn info_url() -> String {
    query_parameter("relay").unwrap_or_else(|| {
        let host = web_sys::window()
            .map(|w| w.location())
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

async fn find_relay_address(
    info_url: &str,
    transport: RelayTransport,
) -> Result<Multiaddr, String> {
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
    let usable: Vec<&String> = info
        .addresses
        .iter()
        .filter(|a| a.contains(transport.marker()))
        .collect();
    usable
        .iter()
        .find(|a| a.contains(&format!("/{host}/")))
        .or(usable.first())
        .ok_or_else(|| {
            format!(
                "the relay at {info_url} has no {} address",
                transport.name()
            )
        })?
        .parse()
        .map_err(|e| format!("the relay's address is not a multiaddr: {e}"))
}
