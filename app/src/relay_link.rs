//! This tab's own peer, its link to the native relay and its room, as signals. Optional:
//! in-page peers work without it, and the page says plainly when no relay is there. The
//! loop itself (find the relay, reserve, register, discover, dial, back off) is the engine's
//! [`testbed::room::link`]; this file runs it and draws it.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use futures_timer::Delay;
use leptos::prelude::*;
use leptos::task::spawn_local;
use testbed::dht;
use testbed::dht::LookupRequest;
use testbed::peer;
use testbed::room::link::{Link, PingsTo, Runner, Throughput, DEFAULT_INFO_PORT};
use testbed::room::tokens::{Outcome, INITIAL_TOKENS};
use testbed::room::{self, Members, Path};
use testbed::trace::Trace;
use testbed::view::{LogLine, NetworkView};
use testbed::webrtc::ice::Ice;
use testbed::{EventSink, Keypair, Multiaddr, PeerId};
use wasm_bindgen::JsCast;

use crate::lazy;
use wasm_bindgen_futures::JsFuture;

pub use testbed::room::link::{Status as RelayStatus, Transport as RelayTransport};

/// Room log lines kept.
const MAX_LOG: usize = 200;

/// How often the balance is read for the page.
const BALANCE_EVERY: Duration = Duration::from_millis(200);

/// The tab's peer as the page sees it.
#[derive(Clone, Copy)]
pub struct RelayLink {
    pub status: RwSignal<RelayStatus>,
    /// The room this tab is in (or joining): the page sets it, the link follows.
    pub room: RwSignal<Option<String>>,
    pub members: RwSignal<Members>,
    /// This tab's peer and the peers of other tabs: each arrow's far end from the envelopes.
    pub trace: RwSignal<Trace>,
    pub log: RwSignal<Vec<LogLine>>,
    pub me: RwSignal<Option<PeerId>>,
    /// The relay last reached, kept while it is away: its lifeline stays.
    pub relay: RwSignal<Option<PeerId>>,
    /// The relay's address this tab reached it at, ending in `/p2p/RELAY`.
    pub address: RwSignal<Option<Multiaddr>>,
    /// Round trips of the pings to each peer of the room, in ms, oldest first.
    pub round_trips: RwSignal<BTreeMap<(PeerId, Path), Vec<f64>>>,
    /// The pings to each peer of the room still waiting for their PONG, and why the last
    /// one failed (until a ping to it comes back).
    pub pings: RwSignal<BTreeMap<PeerId, PingsTo>>,
    /// The last bulk transfer to each peer of the room by each path.
    pub throughputs: RwSignal<BTreeMap<(PeerId, Path), Throughput>>,
    /// What the relay refused last (a limit reached, a room it could not serve).
    pub problem: RwSignal<Option<String>>,
    /// The last put or get of a record in the DHT the room's tabs form: a sentence, or why
    /// it failed.
    pub dht_result: RwSignal<Option<Result<String, String>>>,
    pub balance: RwSignal<u64>,
    /// Tabs this one has a token channel to.
    pub channels: RwSignal<usize>,
    /// The last snapshot this tab started, once it ended.
    pub snapshot: RwSignal<Option<Outcome>>,
    link: StoredValue<Option<Link>, LocalStorage>,
    /// Where direct connections look for a route (`?stun=`, `?turn=`, `?ice=relay`), or why
    /// the page's settings could not be read (the defaults are used then).
    pub ice: StoredValue<Result<Ice, String>>,
}

impl RelayLink {
    /// This tab's link, started at once when `room` is given; otherwise when rooms are first
    /// used (a room is set, or [`RelayLink::wake`]): the tab's peer is a kind of its own
    /// (relay, rendezvous, WebRTC, Kademlia), whose code then comes in a chunk of its own.
    pub fn start(room: Option<String>) -> RelayLink {
        let page = RelayLink {
            status: RwSignal::new(RelayStatus::NotStarted),
            room: RwSignal::new(room),
            members: RwSignal::new(Members::default()),
            trace: RwSignal::new(Trace::across_tabs(js_sys::Date::now())),
            log: RwSignal::new(Vec::new()),
            me: RwSignal::new(None),
            relay: RwSignal::new(None),
            address: RwSignal::new(None),
            round_trips: RwSignal::new(BTreeMap::new()),
            pings: RwSignal::new(BTreeMap::new()),
            throughputs: RwSignal::new(BTreeMap::new()),
            problem: RwSignal::new(None),
            dht_result: RwSignal::new(None),
            balance: RwSignal::new(INITIAL_TOKENS),
            channels: RwSignal::new(0),
            snapshot: RwSignal::new(None),
            link: StoredValue::new_local(None),
            ice: StoredValue::new(Ok(Ice::default())),
        };
        page.ice.set_value(Ice::from_query(query_parameter));
        Effect::new(move |_| {
            let room = page.room.get();
            if room.is_some() {
                page.wake();
            }
            page.with_link(|link| link.set_room(room));
        });
        page
    }

    /// Starts this tab's peer unless it has started: downloads its code, then joins the
    /// relay.
    pub fn wake(self) {
        if self.status.get_untracked() != RelayStatus::NotStarted {
            return;
        }
        let info_url = info_url();
        self.status.set(RelayStatus::Looking {
            info_url: info_url.clone(),
        });
        let ice = self.ice.get_value().unwrap_or_default();
        spawn_local(async move {
            match lazy::room_link().await {
                Ok(start) => start(self, ice, info_url),
                Err(error) => self.status.set(RelayStatus::Absent {
                    reason: error.to_string(),
                    retry_in: 0,
                }),
            }
        });
    }

    /// Reached only from [`lazy::room_link`], so it and what it runs come in the rooms' chunk.
    pub(crate) fn start_peer(self, start: peer::Start, ice: Ice, info_url: String) {
        let (sink, events) = EventSink::new();
        let config = peer::Config {
            keypair: Keypair::generate_ed25519(),
            measure_round_trips: true,
            pace: testbed::pace::Pace::default(),
            wire: None,
            // The room's tabs form a Kademlia DHT of their own, over the circuits.
            dht: Some(dht::Config::default()),
            ice,
        };
        let peer = match start(config, sink) {
            Ok(peer) => peer,
            Err(error) => {
                self.status.set(RelayStatus::Absent {
                    reason: error.to_string(),
                    retry_in: 0,
                });
                return;
            }
        };
        self.me.set(Some(peer.peer_id()));
        let room = self.room.get_untracked();
        let (link, updates, runner) = Link::start(peer, events, room, info_url, transport());
        self.link.set_value(Some(link));
        spawn_local(self.follow_events(updates.events));
        spawn_local(self.follow_state(updates.changed));
        spawn_local(self.follow_tokens(updates.outcomes));
        spawn_local(run(runner));
    }

    fn with_link(self, act: impl FnOnce(&Link)) {
        self.link.with_value(|link| {
            if let Some(link) = link {
                act(link)
            }
        });
    }

    pub fn ping(self, remote: PeerId) {
        self.with_link(|link| link.ping(remote));
    }

    /// Sends a bulk transfer to `remote`, timed.
    pub fn send_bulk(self, remote: PeerId) {
        self.with_link(|link| link.send_bulk(remote));
    }

    pub fn ping_everyone(self) {
        self.with_link(Link::ping_everyone);
    }

    /// Dials a peer by its circuit (or `/webrtc`) address; why not, if the address is wrong.
    pub fn connect_to(self, address: &str) -> Result<(), String> {
        let mut outcome = Err("this tab's peer did not start".to_owned());
        self.with_link(|link| outcome = link.connect_to(address).map(drop));
        outcome
    }

    /// Stores `value` under `key` in the DHT of the room's tabs.
    pub fn put(self, key: String, value: String) {
        self.lookup(LookupRequest::PutRecord {
            key: key.into_bytes(),
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
        let Some(link) = self.link.get_value() else {
            return;
        };
        self.dht_result.set(None);
        spawn_local(async move {
            let result = link.lookup(request).await;
            self.dht_result.set(Some(result));
        });
    }

    /// Sends a random amount to a random connected tab, `count` times, 100 ms apart.
    pub fn move_tokens(self, count: u32) {
        let Some(link) = self.link.get_value() else {
            return;
        };
        spawn_local(async move {
            let tokens = link.tokens();
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
        self.snapshot.set(None);
        self.with_link(|link| {
            link.tokens().snapshot();
        });
    }

    /// How the other tabs reach this one while the relay holds its slot.
    pub fn circuit_address(self) -> Option<Multiaddr> {
        self.members
            .with(|m| m.reservation.is_some())
            .then_some(())?;
        Some(room::circuit_address(&self.address.get()?, self.me.get()?))
    }

    /// The peer's events, into the room's trace and log.
    async fn follow_events(self, mut events: mpsc::Receiver<testbed::Event>) {
        // Other tabs' peers go by their short PeerId: none of them is an in-page peer.
        let mut namer = NetworkView::default();
        if let Some(me) = self.me.get_untracked() {
            namer.set_name(me, "this tab");
        }
        while let Some(event) = events.next().await {
            if let Some(relay) = self.relay.get_untracked() {
                namer.set_name(relay, "the relay");
            }
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

    /// The link's state, into signals, each time it changes.
    async fn follow_state(self, mut changed: mpsc::Receiver<()>) {
        while changed.next().await.is_some() {
            let Some(state) = self.link.with_value(|l| l.as_ref().map(Link::state)) else {
                return;
            };
            self.status.set(state.status);
            self.members.set(state.members);
            self.relay.set(state.relay);
            self.address.set(state.address);
            self.round_trips.set(state.round_trips);
            self.pings.set(state.pings);
            self.throughputs.set(state.throughputs);
            self.problem.set(state.problem);
        }
    }

    /// Snapshot outcomes, and the balance and channels, as they change.
    async fn follow_tokens(self, mut outcomes: mpsc::Receiver<Outcome>) {
        let watch_balance = async {
            while let Some(link) = self.link.get_value() {
                self.balance.set(link.tokens().balance());
                self.channels.set(link.tokens().channels().len());
                Delay::new(BALANCE_EVERY).await;
            }
        };
        let outcomes = async {
            while let Some(outcome) = outcomes.next().await {
                self.snapshot.set(Some(outcome));
            }
        };
        futures::join!(watch_balance, outcomes);
    }
}

/// Runs the engine's link, reading the relay's info endpoint with the browser's fetch.
async fn run(runner: Runner) {
    runner.run(fetch_text).await;
}

/// The body of `url`, or why it could not be read.
async fn fetch_text(url: String) -> Result<String, String> {
    let absent = || format!("no relay answered at {url}");
    let window = web_sys::window().ok_or_else(absent)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(|_| absent())?
        .dyn_into()
        .map_err(|_| absent())?;
    if !response.ok() {
        return Err(format!("{url} answered {}", response.status()));
    }
    Ok(JsFuture::from(response.text().map_err(|_| absent())?)
        .await
        .map_err(|_| absent())?
        .as_string()
        .unwrap_or_default())
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
